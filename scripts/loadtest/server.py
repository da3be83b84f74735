"""The app server under load: its own checkpoints, environment and stack-dump hook; its memory
and health sampled every second; the tracebacks in its log."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from devtools.app_server import chromium_problem, health_ok, start_app, stop_app
from loadtest import REPO, seconds_since_start

# Imported by the server's Python at start (its folder is put first on PYTHONPATH): on SIGUSR1,
# the server writes the stack of every thread to LOADTEST_STACKS, so a stalled page can be
# explained (is a script thread blocked, and where?).
STACK_DUMP_HOOK = """
import faulthandler, os, signal
_path = os.environ.get("LOADTEST_STACKS")
if _path:
    _stacks = open(_path, "a")
    faulthandler.register(signal.SIGUSR1, file=_stacks, all_threads=True)
"""


def missing_requirements(browser: bool = True) -> str | None:
    """Why the load test cannot run here (no Chromium if `browser`, no shipped checkpoint, no
    MNIST), or None."""
    if browser and (problem := chromium_problem()):
        return problem
    from lenet_viz.checkpoints.store import DEFAULT_CHECKPOINT_NAMES, REPO_CHECKPOINT_DIR
    from lenet_viz.data.datasets import data_available

    if not (REPO_CHECKPOINT_DIR / DEFAULT_CHECKPOINT_NAMES["modern"]).is_file():
        return "the shipped modern checkpoint is missing (see checkpoints/README.md)"
    if not data_available("mnist"):
        return "MNIST is not fetched: run `make data`"
    return None


def copy_shipped_checkpoints(folder: Path) -> list[str]:
    """Copy the shipped checkpoints that exist into `folder`; returns their names."""
    from lenet_viz.checkpoints.store import DEFAULT_CHECKPOINT_NAMES, REPO_CHECKPOINT_DIR

    copied = []
    for name in DEFAULT_CHECKPOINT_NAMES.values():
        if (REPO_CHECKPOINT_DIR / name).is_file():
            shutil.copy(REPO_CHECKPOINT_DIR / name, folder / name)
            copied.append(name)
    return copied


def server_env(folder: Path, stacks: Path, max_runs: int) -> dict[str, str]:
    """Our environment for the server, with LENET_VIZ_MAX_RUNS, the checkpoint `folder`, and
    STACK_DUMP_HOOK (in `folder`/hook) writing to `stacks`, which this process reads too."""
    hook = folder / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(STACK_DUMP_HOOK)
    stacks.write_text("")
    os.environ["LOADTEST_STACKS"] = str(stacks)
    return {
        **os.environ,
        "LENET_VIZ_MAX_RUNS": str(max_runs),
        "LENET_VIZ_CHECKPOINTS": str(folder),
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")])),
    }


@contextlib.contextmanager
def app_under_load(port: int, log: Path, stacks: Path, max_runs: int) -> Iterator[subprocess.Popen]:
    """The app started on `port` (its log to `log`) with a temporary copy of the shipped
    checkpoints, so the models the sessions save never land in the repo; stopped on the way out."""
    with tempfile.TemporaryDirectory(prefix="lenet-loadtest-") as folder:
        copy_shipped_checkpoints(Path(folder))
        server = start_app(port, log, server_env(Path(folder), stacks, max_runs))
        os.environ["LOADTEST_SERVER_PID"] = str(server.pid)
        try:
            yield server
        finally:
            stop_app(server)


def dump_server_stacks(label: str) -> None:
    """Ask the server (through the hook in STACK_DUMP_HOOK) to write all its threads' stacks."""
    path, pid = os.environ.get("LOADTEST_STACKS"), os.environ.get("LOADTEST_SERVER_PID")
    if not path or not pid:
        return
    with open(path, "a") as stacks:
        stacks.write(f"\n===== {label} at {seconds_since_start():.1f} s =====\n")
    with contextlib.suppress(OSError):
        os.kill(int(pid), signal.SIGUSR1)


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (from /proc/<pid>/task/*/children)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):  # the process or thread just ended
                todo.extend(int(child) for child in children.read_text().split())
    return found


def rss_bytes(pid: int) -> int:
    """VmRSS of one process (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def tree_rss_bytes(pid: int) -> int:
    return sum(rss_bytes(member) for member in process_tree(pid))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


class Monitor:
    """Every second: the RSS of the server's process tree, and its health endpoint (two threads,
    so a slow health answer never delays a memory sample)."""

    def __init__(self, pid: int, url: str, period: float = 1.0):
        self.pid, self.url, self.period = pid, url, period
        self.rss: list[tuple[float, int]] = []  # (monotonic time, bytes)
        self.server_rss: list[int] = []  # the server's own process, bytes, at the same times
        self.cpu: dict[int, float] = {}  # pid -> CPU seconds, last seen (workers come and go)
        self.cpu_start: dict[int, float] = {}  # the same when the measured load began
        self.load_seconds: float | None = None  # how long the measured load lasted
        self.health_checks = 0
        self.health_failures: list[float] = []  # seconds since the start
        self._stop = threading.Event()
        self._started = time.monotonic()
        self._threads = [
            threading.Thread(target=self._sample_memory, daemon=True),
            threading.Thread(target=self._check_health, daemon=True),
        ]

    def start(self) -> Monitor:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)

    def _sample_memory(self) -> None:
        while not self._stop.is_set():
            members = process_tree(self.pid)
            self.rss.append((time.monotonic(), sum(rss_bytes(member) for member in members)))
            self.server_rss.append(rss_bytes(self.pid))
            for member in members:
                self.cpu[member] = max(self.cpu.get(member, 0.0), cpu_seconds(member))
            self._stop.wait(self.period)

    def _check_health(self) -> None:
        while not self._stop.is_set():
            ok = health_ok(self.url)
            self.health_checks += 1
            if not ok and not self._stop.is_set():
                self.health_failures.append(round(time.monotonic() - self._started, 1))
            self._stop.wait(self.period)

    def cpu_now(self) -> dict[int, float]:
        """CPU seconds so far of every process in the server's tree (kept in `cpu` too)."""
        now = {member: cpu_seconds(member) for member in process_tree(self.pid)}
        for member, seconds in now.items():
            self.cpu[member] = max(self.cpu.get(member, 0.0), seconds)
        return now

    def rss_now(self) -> int:
        return tree_rss_bytes(self.pid)

    def peak_between(self, start: float, end: float) -> int:
        return max((value for moment, value in self.rss if start <= moment <= end), default=0)


# The one traceback in the server log that is not a failure: Streamlit's own websocket
# endpoint, when a browser tab goes away (F5, a closed tab) during the handshake or while the
# server closes the socket. It holds no frame of this repository.
CLIENT_GONE = "starlette.websockets.WebSocketDisconnected"


def server_tracebacks(log_text: str) -> tuple[int, int]:
    """(tracebacks that count as failures, tracebacks of a browser tab that went away) in the
    server's log. A traceback is a client gone away if the exception it ends with is
    CLIENT_GONE and none of its frames is in this repository's code."""
    failing = gone = 0
    for block in log_text.split("Traceback (most recent call last):")[1:]:
        lines = block.splitlines()
        frames = [line for line in lines if line.startswith("  File ")]
        ending = next((line for line in lines[1:] if line and not line.startswith(" ")), "")
        ours = any(".venv" not in line and str(REPO) in line for line in frames)
        if ending.startswith(CLIENT_GONE) and not ours:
            gone += 1
        else:
            failing += 1
    return failing, gone
