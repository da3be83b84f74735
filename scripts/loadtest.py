"""Load test (`make loadtest`): many browser sessions at once against one local app server.

Starts `streamlit run app.py` on a free port of 127.0.0.1 only, with LENET_VIZ_MAX_RUNS=1 so the
training queue is used, and a temporary checkpoint folder (the shipped checkpoints copied in) so
the models the sessions save never land in the repo. Then opens --sessions browser sessions at
once (one Chromium, one context each, driven concurrently with Playwright's async API):

- "train" sessions choose the Tiny run size and 1 epoch, press Start together, watch the queue,
  and save the model under a name of their own;
- "draw" sessions draw a 7 and a 1 with mouse strokes, read the prediction, visit Inside;
- "switch" sessions go round every page;
- with 5 sessions or more, the last two are a "reload" session (a train session that presses F5
  while its run waits or trains, and must see the same run again) and a "closetab" session
  (starts a run with the trainers, pauses it and closes its tab: the other runs must not wait
  for it).

What must hold, and is checked (the script exits 1 if anything fails):
- isolation: a session sees its own runs and saved models, never another's (Train page, the
  model picker of Draw, the drawn digit on Inside), and a fresh session sees none;
- no errors: no exception, error message, traceback or connection error on any page; the
  server's health endpoint answers "ok" every second; no traceback in the server log (but for
  Streamlit's own when a tab goes away mid-handshake: counted apart, `server_tracebacks`);
- the queue: at most LENET_VIZ_MAX_RUNS runs train at once (the server's own count, shown to
  queued users, and the pages' statuses), and the others are seen waiting;
- memory: the RSS of the server process and its children (sampled every second from
  /proc/<pid>/status) stays under --rss-limit-mb and does not grow from one round of the same
  load to the next.

Everything is bounded: a fixed number of actions per session, a timeout on every wait, and a
total time limit (--time-limit). The figures are printed as a table and written as JSON to
test-output/loadtest.json (the server's log beside it, loadtest-server.log; a screenshot of
each failed session in test-output/loadtest-failures/).

Memory note: with glibc's default malloc, the server's RSS creeps up by about 7 MB per session
that comes and goes (freed memory stays in the per-thread arenas of the many short-lived
script and training threads), while the live Python objects stay bounded; with
MALLOC_ARENA_MAX=2 in the environment it stays flat (measured over 6 rounds). The server
inherits this script's environment, so `MALLOC_ARENA_MAX=2 make loadtest` shows it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # devtools and lenet_viz, when run as `python scripts/loadtest.py`

from devtools.app_server import (  # noqa: E402
    chromium_options,
    chromium_problem,
    free_port,
    health_ok,
    start_app,
    stop_app,
    url_of,
    wait_until_serving,
)

OUTPUT = REPO / "test-output"
VIEWPORT = {"width": 1400, "height": 1300}  # room for the Run size list below the settings
ACTION_MS = 150_000  # any single wait in a page (a script run under load)
RUN_SECONDS = 240  # one Tiny run, queue included, on a loaded machine
SETTLE_SECONDS = 5  # after a round, before reading its "end" memory
# The live panel's "Last update" clock unchanged this long while the run is not over: the page
# stopped polling. (The run's own status may rightly stay the same longer: an end-of-epoch
# test on a busy server; that time is reported as a figure, `run_still_max_s`.)
STALL_SECONDS = 60
CANVAS_SEND_SECONDS = 1.0  # after the last stroke: the canvas has sent the drawing
NAVIGATION_SECONDS = 45  # a sidebar click whose page title has not shown by then is repeated
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

# Sidebar link -> the page's title (its h1).
PAGE_TITLES = {
    "Home": "LeNet-5 Explorer",
    "Train": "Train LeNet-5",
    "Compare": "Compare runs side by side",
    "Draw": "Draw a digit",
    "Inside LeNet-5": "Inside LeNet-5",
}
TOUR = ("Train", "Compare", "Draw", "Inside LeNet-5", "Home")  # a switching session's round
ROLES = ("train", "draw", "switch")
# Two more sessions when there are at least this many (issue #16): "reload" trains like "train"
# but presses F5 mid-run and must get its run back; "closetab" starts a run, pauses it and
# closes its tab, which must not keep anyone else waiting.
CLASSROOM_ROLES = ("reload", "closetab")
CLASSROOM_FROM = 5
TRAINING_ROLES = ("train", "reload")  # sessions that train, save and must see their own run
ALL_ROLES = ROLES + CLASSROOM_ROLES
TINY = "Tiny: 500 images"  # the smallest "quick run" size of the Train page
# The reload and closetab sessions' runs last longer, so that F5 and Pause find them going on.
RELOAD_RUN = ("Quick: 2,000 images", "2")  # (run size, epochs)
# Paused soon after it starts, never finished: long enough that under load the Pause click
# arrives before the run ends (1 epoch of Medium sometimes finished first). Not the Full size:
# its first run converts the whole training set once per process (about 250 MB), which the
# memory check would count as growth from one round to the next.
CLOSETAB_RUN = ("Medium: 10,000 images", "3")
# An idle Train page after F5 for this long (no run, no "Reconnecting…"): the run was lost.
# Longer than the guard's wait before adopting (ui/session_guard.ADOPT_AFTER_SECONDS) and a
# script run under load.
IDLE_AFTER_RELOAD_SECONDS = 20
CANVAS = "[data-testid=stBidiComponentIsolated] canvas.upper-canvas"
# Mouse strokes in canvas pixels (280x280), from the browser tests: they read as these digits.
STROKES = {
    "7": [[(45, 20), (236, 20)], [(236, 20), (170, 140), (118, 265)]],
    "1": [[(205, 3), (195, 140), (185, 272)]],
}
# The model picker's labels (ui/model_picker.py).
SAVED_PREFIX = "Saved by you: "
TRAINING_OPTION = "The model on the Train page"
UPLOAD_OPTION = "Upload a checkpoint"
IDLE_TRAIN_TEXT = "Choose the settings on the left and press"  # Train, before any run
DRAWN_DIGIT = "The digit you drew"  # Inside's choice, only after this session drew

SCRIPT_STATE_JS = """() => document.querySelector('[data-testid="stApp"]')
    ?.getAttribute('data-test-script-state')"""
SCRIPT_IDLE_JS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return !!app && app.getAttribute('data-test-script-state') === 'notRunning';
}"""
# Every sign of an error a user could see on the page.
ERRORS_JS = """() => {
    const texts = (selector) => [...document.querySelectorAll(selector)]
        .map((element) => element.innerText.trim().slice(0, 300));
    const found = [];
    for (const text of texts('[data-testid="stException"]')) found.push('exception: ' + text);
    for (const text of texts('[data-testid="stAlertContentError"]')) found.push('error: ' + text);
    const body = document.body ? document.body.innerText : '';
    if (body.includes('Traceback')) found.push('a traceback on the page');
    if (body.includes('Connection error')) found.push('connection error');
    return found;
}"""
# The Train page's status line (its progress bar) and its "Queued: ..." message, if any.
TRAIN_STATUS_JS = """() => {
    const bar = document.querySelector('[data-testid="stProgress"]');
    const queued = [...document.querySelectorAll('[data-testid="stAlertContentInfo"]')]
        .map((element) => element.innerText).find((text) => text.includes('Queued:'));
    const updated = [...document.querySelectorAll('[data-testid="stCaptionContainer"]')]
        .map((element) => element.innerText).find((text) => text.startsWith('Last update:'));
    return {progress: bar ? bar.innerText.trim() : null, queued: queued || null,
            updated: updated || null};
}"""
# How many runs the Train page shows ("Run: <name>"), and whether it shows its idle hint.
TRAIN_RUNS_JS = """(idleText) => {
    const blocks = [...document.querySelectorAll('[data-testid="stMarkdownContainer"]')];
    const runs = blocks.filter((element) => element.innerText.trim().startsWith('Run:')).length;
    return [runs, document.body.innerText.includes(idleText)];
}"""
QUEUED_RE = re.compile(r"position (\d+) of (\d+) waiting.*?\((\d+) busy now\)", re.S)


# ----------------------------------------------------------------------------- pure helpers

_T0 = time.monotonic()


def say(text: str) -> None:
    """One progress line, with the seconds since the start (the run takes minutes)."""
    print(f"[{time.monotonic() - _T0:6.1f} s] {text}", flush=True)


def assign_roles(sessions: int) -> list[str]:
    """train, draw, switch, train, draw, ..., then from CLASSROOM_FROM sessions on the last two
    are "reload" and "closetab": 8 sessions give 2 train, 2 draw, 2 switch, 1 reload, 1
    closetab (three runs trained to the end, one paused and left behind)."""
    cycled = sessions - len(CLASSROOM_ROLES) if sessions >= CLASSROOM_FROM else sessions
    return [ROLES[index % len(ROLES)] for index in range(cycled)] + (
        list(CLASSROOM_ROLES) if sessions >= CLASSROOM_FROM else []
    )


def percentile(values: list[float], fraction: float) -> float | None:
    """The nearest-rank percentile (fraction in 0..1) of `values`; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def status_of(progress: str | None) -> str | None:
    """The run status a Train page shows: "running", "queued", "finished", ... or None."""
    if not progress:
        return None
    first = progress.split("·")[0].strip().lower()
    if first.startswith("training"):
        return "running"
    if first.startswith("waiting for a free training slot"):
        return "queued"
    return first


def parse_queued(text: str | None) -> tuple[int, int, int] | None:
    """(position, waiting, busy) from the Train page's "Queued: position 2 of 3 waiting ...
    (1 busy now)" message; None for anything else."""
    match = QUEUED_RE.search(text or "")
    return tuple(int(group) for group in match.groups()) if match else None


def confirmed_running_intervals(reads: list[tuple[float, str | None]]) -> list[tuple[float, float]]:
    """When one session's run certainly held a training slot, from its page's status reads.

    `reads` are (time read, progress text) in time order. A page can be stale: it shows what the
    server said at its last refresh. But if two consecutive "running" reads differ, the page was
    redrawn in between, still "running", so the run held its slot from before the first read
    until after it (a trainer takes its slot once and keeps it until the run ends). In a streak
    of "running" reads t0..tk, every read followed by a different one is thus certain: the
    interval is [t0, tm], tm the last read whose text differs from the streak's last text.
    """
    intervals = []
    streak: list[tuple[float, str]] = []
    for moment, text in [*reads, (math.inf, None)]:
        if status_of(text) == "running":
            streak.append((moment, text))
            continue
        if streak:
            last_text = streak[-1][1]
            changed = [t for t, text_then in streak if text_then != last_text]
            if changed:
                intervals.append((streak[0][0], changed[-1]))
        streak = []
    return intervals


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    """The largest number of closed intervals that share one moment."""
    events = [(start, 0) for start, _ in intervals] + [(end, 1) for _, end in intervals]
    count = best = 0
    for _, kind in sorted(events):  # at equal times, starts (0) come before ends (1)
        count += 1 if kind == 0 else -1
        best = max(best, count)
    return best


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


def memory_failures(rounds: list[dict], limit_mb: float, growth_mb: float) -> list[str]:
    """Memory over the limit, or growing from the first round of the same load to the last."""
    failures = []
    for number, figures in enumerate(rounds, start=1):  # every round, even one cut short
        if figures["peak_rss_mb"] > limit_mb:
            failures.append(
                f"round {number}: the server used {figures['peak_rss_mb']:.0f} MB "
                f"(limit {limit_mb:.0f} MB)"
            )
    finished = [figures for figures in rounds if figures.get("finished", True)]
    if len(finished) >= 2:
        first, last = finished[0], finished[-1]
        for name in ("peak_rss_mb", "end_rss_mb"):
            if last[name] > first[name] + growth_mb:
                failures.append(
                    f"memory grew from the first round to the last: {name} "
                    f"{first[name]:.0f} MB -> {last[name]:.0f} MB (allowed +{growth_mb:.0f} MB)"
                )
    return failures


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


def format_table(rows: list[tuple[str, object]]) -> str:
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)


# ----------------------------------------------------------------------------- the server


def copy_shipped_checkpoints(folder: Path) -> list[str]:
    """Copy the shipped checkpoints that exist into `folder`; returns their names."""
    from lenet_viz.checkpoints.store import DEFAULT_CHECKPOINT_NAMES, REPO_CHECKPOINT_DIR

    copied = []
    for name in DEFAULT_CHECKPOINT_NAMES.values():
        if (REPO_CHECKPOINT_DIR / name).is_file():
            shutil.copy(REPO_CHECKPOINT_DIR / name, folder / name)
            copied.append(name)
    return copied


class Monitor:
    """Every second: the RSS of the server's process tree, and its health endpoint (two threads,
    so a slow health answer never delays a memory sample)."""

    def __init__(self, pid: int, url: str, period: float = 1.0):
        self.pid, self.url, self.period = pid, url, period
        self.rss: list[tuple[float, int]] = []  # (monotonic time, bytes)
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
            self.rss.append((time.monotonic(), tree_rss_bytes(self.pid)))
            self._stop.wait(self.period)

    def _check_health(self) -> None:
        while not self._stop.is_set():
            ok = health_ok(self.url)
            self.health_checks += 1
            if not ok and not self._stop.is_set():
                self.health_failures.append(round(time.monotonic() - self._started, 1))
            self._stop.wait(self.period)

    def rss_now(self) -> int:
        return tree_rss_bytes(self.pid)

    def peak_between(self, start: float, end: float) -> int:
        return max((value for moment, value in self.rss if start <= moment <= end), default=0)


# ----------------------------------------------------------------------------- one session


@dataclass
class Session:
    """One browser session (its own Chromium context, so its own Streamlit session)."""

    index: int
    role: str
    page: object = None  # playwright.async_api.Page
    label: str = ""
    saved_name: str | None = None  # the checkpoint file this session saved
    pages_visited: int = 0
    predictions: int = 0
    runs_trained: int = 0
    load_seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)  # another session's runs or models seen
    status_reads: list[tuple[float, str | None]] = field(default_factory=list)
    queued_reads: list[tuple[int, int, int]] = field(default_factory=list)
    still_seconds: list[float] = field(default_factory=list)  # a running status unchanged
    closed: bool = False  # its tab was closed on purpose ("closetab")
    reattached: bool = False  # its page got its run back after F5 ("reload")
    page_errors: list[str] = field(default_factory=list)  # uncaught JavaScript errors
    clicks_repeated: int = 0  # sidebar clicks that had to be made twice (open_page)

    def fail(self, text: str) -> None:
        if self.page_errors:  # a page script that crashed explains a blank or stuck page
            text += f" (JavaScript errors on the page: {self.page_errors[-3:]})"
        self.errors.append(f"{self.label}: {text}")


async def wait_idle(page) -> None:
    """Until Streamlit is connected and no script run is going on."""
    await page.wait_for_function(SCRIPT_IDLE_JS, timeout=ACTION_MS)


async def check_page(session: Session, where: str) -> None:
    for problem in await session.page.evaluate(ERRORS_JS):
        session.fail(f"{where}: {problem}")


async def open_home(session: Session, url: str) -> None:
    start = time.perf_counter()
    await session.page.goto(url, timeout=ACTION_MS)
    await session.page.locator("h1").filter(has_text=PAGE_TITLES["Home"]).first.wait_for()
    await wait_idle(session.page)
    session.load_seconds.append(time.perf_counter() - start)
    session.pages_visited += 1
    await check_page(session, "Home")


async def open_page(session: Session, name: str) -> None:
    """Go to a page through the sidebar (a link click keeps the session; a new URL would not),
    timing it until the page's title is shown and its script run is over.

    A click that leaves the page where it was for NAVIGATION_SECONDS is clicked again, as a
    user would, and counted (`clicks_repeated`, in the table): under load, a late update from
    the Draw page's canvas can win over the click (Streamlit keeps the newer of two rerun
    requests), and the Draw page is drawn again instead of the one asked for.
    """
    from playwright.async_api import TimeoutError as PageTimeout

    page = session.page
    start = time.perf_counter()
    link = page.locator("[data-testid=stSidebarNav]").get_by_role("link", name=name)
    title = page.locator("h1").filter(has_text=PAGE_TITLES[name]).first
    await link.click()
    try:
        await title.wait_for(timeout=NAVIGATION_SECONDS * 1000)
    except PageTimeout:
        session.clicks_repeated += 1
        say(f"{session.label}: the click on {name} left the page where it was; clicking again")
        await link.click()
        await title.wait_for()
    if name == "Draw":
        await page.locator(CANVAS).wait_for()
    await wait_idle(page)
    session.load_seconds.append(time.perf_counter() - start)
    session.pages_visited += 1
    await check_page(session, name)


async def choose(page, label: str, option: str) -> None:
    """Pick `option` in the selectbox labelled `label`, by typing it (see screenshots.py)."""
    await page.locator("[data-testid=stSelectbox]").filter(has_text=label).first.click()
    await page.keyboard.type(option)
    await page.keyboard.press("Enter")
    await wait_idle(page)


async def picker_options(page) -> list[str]:
    """The labels the model picker offers (the list is in the page only while it is open)."""
    box = page.locator("[data-testid=stSelectbox]").filter(has_text="Model").first
    await box.click()
    options = page.get_by_role("option")
    await options.first.wait_for()
    labels = [text.strip() for text in await options.all_inner_texts()]
    await page.keyboard.press("Escape")
    await options.first.wait_for(state="detached")
    return labels


async def stroke(page, points: list[tuple[int, int]]) -> None:
    """Press, move through `points` (canvas pixels) in small steps, release: one pen stroke.

    Waits for a single canvas first: after Clear the page mounts a fresh one, and until that
    script run is over the old one is still in the page.
    """
    canvas = page.locator(CANVAS)  # a Playwright locator: it sees into the component's shadow DOM
    deadline = time.monotonic() + ACTION_MS / 1000
    while await canvas.count() != 1:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the Draw page did not settle on one canvas in {ACTION_MS} ms")
        await asyncio.sleep(0.1)
    box = await canvas.bounding_box()
    x0, y0 = points[0]
    await page.mouse.move(box["x"] + x0, box["y"] + y0)
    await page.mouse.down()
    for x, y in points[1:]:
        await page.mouse.move(box["x"] + x, box["y"] + y, steps=8)
    await page.mouse.up()


def prediction(page):
    metric = page.locator("[data-testid=stMetric]").filter(has_text="Prediction")
    return metric.locator("[data-testid=stMetricValue]")


async def expect_prediction(session: Session, digit: str, where: str) -> None:
    from playwright.async_api import expect

    try:
        await expect(prediction(session.page)).to_have_text(digit, timeout=ACTION_MS)
        await wait_idle(session.page)
        await expect(prediction(session.page)).to_have_text(digit, timeout=ACTION_MS)
    except AssertionError:
        shown = await prediction(session.page).all_inner_texts()
        session.fail(f"{where}: drew a {digit}, the page reads {shown or 'nothing'}")


# ----------------------------------------------------------------------------- the roles


def dump_server_stacks(label: str) -> None:
    """Ask the server (through the hook in STACK_DUMP_HOOK) to write all its threads' stacks."""
    path, pid = os.environ.get("LOADTEST_STACKS"), os.environ.get("LOADTEST_SERVER_PID")
    if not path or not pid:
        return
    with open(path, "a") as stacks:
        stacks.write(f"\n===== {label} at {time.monotonic() - _T0:.1f} s =====\n")
    with contextlib.suppress(OSError):
        os.kill(int(pid), signal.SIGUSR1)


async def watch_run(session: Session) -> bool:
    """Read the Train page's status until its results show; True if they did.

    While the run is not over, the live panel polls and its "Last update" clock moves every
    second or so. A clock unchanged for STALL_SECONDS means the page stopped updating: that is
    a failure. The session then does what a user would, a click on Train, and the failure says
    whether that brought the page back. How long the run's own status stayed the same while
    the page kept updating is recorded (session.still_seconds).
    """
    page = session.page
    results = page.get_by_role("heading", name="Results")
    deadline = time.monotonic() + RUN_SECONDS
    last_text = last_clock = None
    text_since = clock_since = time.monotonic()
    stall = None
    while not await results.count():
        now = time.monotonic()
        if now > deadline:
            session.fail(f"the Tiny run gave no results within {RUN_SECONDS} s (last: {last_text})")
            return False
        status = await page.evaluate(TRAIN_STATUS_JS)
        session.status_reads.append((now, status["progress"]))
        if queued := parse_queued(status["queued"]):
            session.queued_reads.append(queued)
        if status["progress"] != last_text:
            if status_of(last_text) == "running":
                session.still_seconds.append(now - text_since)
            last_text, text_since = status["progress"], now
        if status["updated"] != last_clock:
            last_clock, clock_since = status["updated"], now
        elif (
            stall is None
            and status_of(last_text) in ("queued", "running")
            and now - clock_since > STALL_SECONDS
        ):
            state = await page.evaluate(SCRIPT_STATE_JS)
            stall = len(session.errors)
            session.fail(
                f"the Train page stopped updating: {last_text!r}, {last_clock!r} for "
                f"{STALL_SECONDS} s (script state {state})"
            )
            await save_failure_screenshot(session)
            dump_server_stacks(session.label)
            await open_page(session, "Train")
            clock_since = time.monotonic()
            continue
        await asyncio.sleep(0.3)
    if stall is not None:
        session.errors[stall] += "; a click on Train brought it back, with the results"
    if status_of(last_text) == "running":
        session.still_seconds.append(time.monotonic() - text_since)
    session.status_reads.append((time.monotonic(), None))  # the end of the last streak
    return True


async def start_tiny_run(
    session: Session, start_together: asyncio.Barrier, size: str = TINY, epochs_text: str = "1"
) -> None:
    """A run (Tiny, 1 epoch unless told), Start pressed with the other trainers."""
    page = session.page
    await open_page(session, "Train")
    await choose(page, "Run size", size)
    epochs = page.locator("[data-testid=stNumberInput]").filter(has_text="Epochs").locator("input")
    await epochs.fill(epochs_text)
    await epochs.press("Enter")
    await wait_idle(page)
    # All trainers press Start at about the same moment, so some must queue.
    with contextlib.suppress(TimeoutError, asyncio.BrokenBarrierError):
        await asyncio.wait_for(start_together.wait(), timeout=ACTION_MS / 1000)
    await page.get_by_role("button", name="Start", exact=True).click()


async def wait_for_status(session: Session, statuses: tuple[str, ...]) -> str | None:
    """Until the Train page's status is one of `statuses` (or the run is over); the status.
    On a timeout, the session's failure names the statuses the page went through."""
    deadline = time.monotonic() + RUN_SECONDS
    shown: list[str | None] = []
    while time.monotonic() < deadline:
        status = await session.page.evaluate(TRAIN_STATUS_JS)
        if not shown or shown[-1] != status["progress"]:
            shown.append(status["progress"])
        seen = status_of(status["progress"])
        if seen in statuses or seen in ("finished", "stopped"):
            return seen
        await asyncio.sleep(0.2)
    session.fail(f"waited {RUN_SECONDS} s for {'/'.join(statuses)}; the page showed {shown[-4:]}")
    await save_failure_screenshot(session)
    return None


async def reload_mid_run(session: Session) -> None:
    """F5 while the run waits or trains: the page must get the same run back (the URL names
    it), not a fresh Train page."""
    page = session.page
    seen = await wait_for_status(session, ("queued", "running"))
    if seen is None:
        return
    if seen not in ("queued", "running"):
        session.fail(f"its run was {seen} before F5 could find it going on")
        return
    await page.reload(timeout=ACTION_MS)
    await page.locator("h1").filter(has_text=PAGE_TITLES["Train"]).first.wait_for()
    deadline = time.monotonic() + ACTION_MS / 1000
    idle_since = None
    while time.monotonic() < deadline:
        runs, idle = await page.evaluate(TRAIN_RUNS_JS, IDLE_TRAIN_TEXT)
        if runs == 1:
            session.reattached = True
            say(f"{session.label}: reloaded while {seen}; the page got its run back")
            return
        # The idle Train page without "Reconnecting…" is also what the page shows for a
        # moment while the rerun that adopts the run replaces its elements: only an idle
        # page that stays so is a page that lost its run.
        reconnecting = await page.get_by_text("Reconnecting to your training run").count()
        if not idle or reconnecting:
            idle_since = None
        elif idle_since is None:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since > IDLE_AFTER_RELOAD_SECONDS:
            break
        await asyncio.sleep(0.3)
    session.fail(f"after F5 (the run was {seen}) the Train page did not show its run again")


async def close_tab_while_paused(session: Session, start_together: asyncio.Barrier) -> None:
    """Start a run with the trainers, pause it once it waits or trains, close the tab."""
    await start_tiny_run(session, start_together, *CLOSETAB_RUN)
    page = session.page
    if await wait_for_status(session, ("queued", "running")) is None:
        return
    await page.get_by_role("button", name="Pause", exact=True).click()
    seen = await wait_for_status(session, ("paused",))
    if seen != "paused":
        if seen is not None:
            session.fail(f"the run was {seen} instead of paused")
        return
    await check_page(session, "Train, paused")
    say(f"{session.label}: paused its run and closes the tab")
    session.closed = True
    await page.context.close()


async def train(
    session: Session, start_together: asyncio.Barrier, run_name: str, reload: bool = False
) -> None:
    """Tiny run, 1 epoch, Start with the other trainers (and F5 mid-run if `reload`); watch
    the status until the results; save the model under this session's own name."""
    page = session.page
    await start_tiny_run(session, start_together, *(RELOAD_RUN if reload else (TINY, "1")))
    if reload:
        await reload_mid_run(session)
        if session.errors:
            return

    if not await watch_run(session):
        return
    session.runs_trained += 1
    await wait_idle(page)
    await check_page(session, "Train, results")

    name_box = page.locator("[data-testid=stTextInput]").filter(has_text="Name for the checkpoint")
    await name_box.locator("input").fill(run_name)
    await name_box.locator("input").press("Enter")
    await wait_idle(page)
    await page.get_by_role("button", name="Save", exact=True).click()
    await page.get_by_text("Saved as").wait_for(timeout=ACTION_MS)
    session.saved_name = f"{run_name}.pt"
    say(f"{session.label}: trained and saved {session.saved_name}")
    await wait_idle(page)
    await check_page(session, "Train, saved")


async def draw(session: Session, repeats: int) -> None:
    """Draw a 7, look at it on Inside, come back; Clear and draw a 1; ... The last drawing is
    kept (Inside must show it to this session, and to no other)."""
    page = session.page
    await open_page(session, "Draw")
    for number in range(repeats):
        digit = "7" if number % 2 == 0 else "1"
        for points in STROKES[digit]:
            await stroke(page, points)
        # The canvas sends the drawing a moment after the pen lifts. Without this pause the
        # prediction of the first stroke alone (a 7's bar often reads as 7) passed the check,
        # and the last stroke's update reached the server after the next sidebar click, which
        # Streamlit then dropped for the newer Draw rerun (a "lost" click, or a Train page
        # check that read the Draw page).
        await asyncio.sleep(CANVAS_SEND_SECONDS)
        await expect_prediction(session, digit, "Draw")
        await wait_idle(page)
        session.predictions += 1
        say(f"{session.label}: drew a {digit}, read as {digit}")
        await check_page(session, "Draw, predicted")
        if number == 0:
            await open_page(session, "Inside LeNet-5")
            await page.get_by_text("Looking at the digit you drew").wait_for(timeout=ACTION_MS)
            await open_page(session, "Draw")
            await expect_prediction(session, digit, "Draw after Inside")  # the drawing stayed
        if number < repeats - 1:
            await page.get_by_role("button", name="Clear", exact=True).click()
            await wait_idle(page)
            await prediction(page).wait_for(state="detached", timeout=ACTION_MS)


async def switch(session: Session, tours: int) -> None:
    for number in range(tours):
        for name in TOUR:
            await open_page(session, name)
        say(f"{session.label}: tour {number + 1} of the {len(TOUR)} pages done")


async def check_isolation(session: Session, everyone: list[Session]) -> None:
    """What this session may see: its own run, its own saved model and its own drawing only."""
    page = session.page
    others = {other.saved_name for other in everyone if other is not session} - {None}

    await open_page(session, "Train")
    runs, idle = await page.evaluate(TRAIN_RUNS_JS, IDLE_TRAIN_TEXT)
    trains = session.role in TRAINING_ROLES
    if trains and (runs != 1 or idle):
        session.leaks.append(f"{session.label}: its own run is not on its Train page")
    if not trains and (runs or not idle):
        session.leaks.append(f"{session.label}: sees a training run it never started")

    await open_page(session, "Draw")
    options = await picker_options(page)
    saved = {
        option.removeprefix(SAVED_PREFIX) for option in options if option.startswith(SAVED_PREFIX)
    }
    for name in saved & others:
        session.leaks.append(f"{session.label}: another session's model {name} is in its picker")
    mine = {session.saved_name} - {None}
    if saved - others != mine:
        session.leaks.append(
            f"{session.label}: its picker offers {sorted(saved)}, not {sorted(mine)}"
        )
    has_training = any(option.startswith(TRAINING_OPTION) for option in options)
    if has_training != trains:
        session.leaks.append(
            f"{session.label}: the Train page's model is "
            f"{'offered' if has_training else 'missing'} in its picker"
        )
    if not any(option.startswith(UPLOAD_OPTION) for option in options):
        session.fail("the model picker has no upload choice")

    await open_page(session, "Inside LeNet-5")
    drawn = await page.get_by_text(DRAWN_DIGIT, exact=True).count()
    if bool(drawn) != (session.role == "draw"):
        session.leaks.append(
            f"{session.label}: Inside {'offers' if drawn else 'lacks'} "
            "a digit drawn by this session"
        )


async def play(session: Session, role_step) -> None:
    """Run one session's part; whatever goes wrong becomes an error of this session."""
    try:
        await role_step
    except Exception as error:  # a timeout or a missing element: the page did not work
        lines = str(error).splitlines()
        waited = next((line.strip() for line in lines if "waiting for" in line), "")
        session.fail(f"{type(error).__name__}: {lines[0][:300]} {waited[:200]}".rstrip())
        with contextlib.suppress(Exception):  # the page may be gone too
            await check_page(session, "after the failure")
            if session.role == "draw":  # the canvas component, as far as the page has it
                page = session.page
                counts = [
                    await page.locator(selector).count()
                    for selector in ("[data-testid=stBidiComponentIsolated]", CANVAS)
                ]
                session.errors[-1] += f" (components, canvases: {counts})"
    if session.errors:
        await save_failure_screenshot(session)


async def save_failure_screenshot(session: Session) -> None:
    """The page as it was when this session failed: test-output/loadtest-failures/*.png."""
    folder = OUTPUT / "loadtest-failures"
    folder.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^a-z0-9]+", "_", session.label.lower()).strip("_") + ".png"
    with contextlib.suppress(Exception):
        await session.page.screenshot(path=str(folder / name), full_page=True, timeout=30_000)


# ----------------------------------------------------------------------------- a round


@dataclass
class Settings:
    sessions: int
    rounds: int
    draw_repeats: int
    switch_tours: int
    max_runs: int


async def new_session(browser, index: int, role: str, round_number: int) -> Session:
    context = await browser.new_context(viewport=VIEWPORT)
    page = await context.new_page()
    page.set_default_timeout(ACTION_MS)
    session = Session(index, role, page, label=f"round {round_number} session {index} ({role})")
    page.on("pageerror", lambda error: session.page_errors.append(str(error)[:200]))
    return session


@dataclass
class Round:
    """One round of the load; filled as it goes, so a round cut short still has its figures."""

    number: int
    started: float
    sessions: list[Session] = field(default_factory=list)
    ended: float | None = None
    end_rss_mb: float | None = None  # after the round's sessions closed and SETTLE_SECONDS

    @property
    def finished(self) -> bool:
        return self.end_rss_mb is not None


async def one_round(browser, url: str, settings: Settings, this_round: Round) -> None:
    number, sessions = this_round.number, this_round.sessions
    roles = assign_roles(settings.sessions)
    for index, role in enumerate(roles):
        sessions.append(await new_session(browser, index, role, number))
    start_together = asyncio.Barrier(
        max(1, sum(role in (*TRAINING_ROLES, "closetab") for role in roles))
    )
    token = secrets.token_hex(3)

    def part(session: Session):
        if session.role in TRAINING_ROLES:
            name = f"loadtest_r{number}_s{session.index}_{token}"
            return train(session, start_together, name, reload=session.role == "reload")
        if session.role == "closetab":
            return close_tab_while_paused(session, start_together)
        if session.role == "draw":
            return draw(session, settings.draw_repeats)
        return switch(session, settings.switch_tours)

    async def whole(session: Session) -> None:
        await play(session, open_home(session, url))
        if not session.errors:
            await play(session, part(session))
        if session.role in (*TRAINING_ROLES, "closetab") and session.errors:
            await start_together.abort()  # do not keep the other trainers waiting

    try:
        say(f"round {number}: {len(sessions)} sessions start ({', '.join(roles)})")
        await asyncio.gather(*(whole(session) for session in sessions))
        say(f"round {number}: checking what each session sees")
        healthy = [session for session in sessions if not session.errors and not session.closed]
        await asyncio.gather(*(play(s, check_isolation(s, sessions)) for s in healthy))

        # A fresh session, opened after all that, sees none of it.
        fresh = await new_session(browser, len(sessions), "fresh", number)
        sessions.append(fresh)
        await play(fresh, open_home(fresh, url))
        if not fresh.errors:
            await play(fresh, check_isolation(fresh, sessions))
    finally:
        for session in sessions:
            if not session.closed:
                await session.page.context.close()


async def run_rounds(url: str, settings: Settings, monitor: Monitor, rounds: list[Round]) -> None:
    """Warm the server up, then run the rounds one after the other, appending to `rounds`."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(**chromium_options())
        try:
            # One visit first: it loads the libraries and the models, so the rounds compare
            # the same load on a warm server.
            warm = await new_session(browser, 0, "warm-up", 0)
            await play(warm, open_home(warm, url))
            await warm.page.context.close()
            if warm.errors:
                raise RuntimeError("; ".join(warm.errors))
            for number in range(1, settings.rounds + 1):
                this_round = Round(number, time.monotonic())
                rounds.append(this_round)
                await one_round(browser, url, settings, this_round)
                this_round.ended = time.monotonic()
                await asyncio.sleep(SETTLE_SECONDS)
                this_round.end_rss_mb = monitor.rss_now() / 2**20
                say(f"round {number}: done in {this_round.ended - this_round.started:.0f} s")
        finally:
            await browser.close()


# ----------------------------------------------------------------------------- the figures


def queue_figures(sessions: list[Session], capacity: int) -> tuple[dict, list[str]]:
    """What the trainers' pages showed of the queue, and whether it held."""
    trainers = [session for session in sessions if session.role in TRAINING_ROLES]
    reads = [read for session in trainers for read in session.queued_reads]
    intervals = [
        interval
        for session in trainers
        for interval in confirmed_running_intervals(session.status_reads)
    ]
    figures = {
        "queue_max": max((waiting for _, waiting, _ in reads), default=0),
        "running_max_server": max((busy for _, _, busy in reads), default=0),
        "running_max_pages": max_overlap(intervals),
        "sessions_seen_queued": sum(bool(session.queued_reads) for session in trainers),
    }
    failures = []
    if figures["running_max_server"] > capacity:
        failures.append(
            f"the server said {figures['running_max_server']} runs were training at once "
            f"(LENET_VIZ_MAX_RUNS={capacity})"
        )
    if figures["running_max_pages"] > capacity:
        failures.append(
            f"{figures['running_max_pages']} pages showed their run training at the same moment "
            f"(LENET_VIZ_MAX_RUNS={capacity})"
        )
    finished = sum(session.runs_trained for session in trainers)
    if finished > capacity and not figures["sessions_seen_queued"]:
        failures.append(f"{finished} runs started together, yet none was ever seen queued")
    return figures, failures


def round_figures(this_round: Round, monitor: Monitor) -> dict:
    ended = this_round.ended or time.monotonic()
    return {
        "finished": this_round.finished,
        "seconds": round(ended - this_round.started, 1),
        "peak_rss_mb": round(
            monitor.peak_between(this_round.started, ended + SETTLE_SECONDS) / 2**20, 1
        ),
        "end_rss_mb": round(this_round.end_rss_mb or 0, 1),
    }


def summarize(rounds: list[Round], settings: Settings, monitor: Monitor, log_text: str) -> dict:
    everyone = [session for this_round in rounds for session in this_round.sessions]
    loads = [seconds for session in everyone for seconds in session.load_seconds]
    errors = [error for session in everyone for error in session.errors]
    leaks = [leak for session in everyone for leak in session.leaks]
    tracebacks, clients_gone = server_tracebacks(log_text)
    queue, failures = {}, []
    for this_round in rounds:
        seen, round_failures = queue_figures(this_round.sessions, settings.max_runs)
        failures += [f"round {this_round.number}: {failure}" for failure in round_failures]
        for name, value in seen.items():
            queue[name] = max(queue.get(name, 0), value)
    failures += errors + leaks
    if monitor.health_failures:
        failures.append(
            f"the health endpoint failed {len(monitor.health_failures)} time(s), at "
            f"{monitor.health_failures[:10]} s"
        )
    if tracebacks:
        failures.append(f"{tracebacks} traceback(s) in the server log")
    rss = [value for _, value in monitor.rss]
    return {
        "sessions": settings.sessions,
        "rounds": sum(this_round.finished for this_round in rounds),
        "roles": {
            role: count
            for role in ALL_ROLES
            if (count := assign_roles(settings.sessions).count(role))
        },
        "max_runs": settings.max_runs,
        "pages_visited": sum(session.pages_visited for session in everyone),
        "clicks_repeated": sum(session.clicks_repeated for session in everyone),
        "predictions": sum(session.predictions for session in everyone),
        "runs_trained": sum(session.runs_trained for session in everyone),
        "reloads_reattached": sum(session.reattached for session in everyone),
        "tabs_closed_while_paused": sum(session.closed for session in everyone),
        **queue,
        "errors": len(errors),
        "isolation_leaks": len(leaks),
        "health_checks": monitor.health_checks,
        "health_failures": len(monitor.health_failures),
        "server_log_tracebacks": tracebacks,
        "server_log_clients_gone": clients_gone,
        "peak_rss_mb": round(max(rss, default=0) / 2**20, 1),
        "final_rss_mb": round((rss[-1] if rss else 0) / 2**20, 1),
        "rss_samples": len(rss),
        "per_round": [round_figures(this_round, monitor) for this_round in rounds],
        "page_load_p50_s": round(percentile(loads, 0.5) or 0, 2),
        "page_load_p95_s": round(percentile(loads, 0.95) or 0, 2),
        "page_loads": len(loads),
        "run_still_max_s": round(
            max((t for session in everyone for t in session.still_seconds), default=0), 1
        ),
        "failures": failures,
    }


def table_rows(figures: dict) -> list[tuple[str, object]]:
    rounds = figures.get("per_round", [])
    return [
        ("sessions at once", f"{figures['sessions']} {figures.get('roles', '')}"),
        (
            "reloaded mid-run and got the run back · tabs closed while paused",
            f"{figures.get('reloads_reattached', 0)} · "
            f"{figures.get('tabs_closed_while_paused', 0)}",
        ),
        ("rounds", figures["rounds"]),
        ("pages visited", figures["pages_visited"]),
        ("sidebar clicks made twice (the first one was lost)", figures.get("clicks_repeated", 0)),
        ("predictions made", figures["predictions"]),
        ("runs trained", figures["runs_trained"]),
        ("LENET_VIZ_MAX_RUNS", figures["max_runs"]),
        ("queue max (waiting)", figures.get("queue_max", 0)),
        ("training at once, server", figures.get("running_max_server", 0)),
        ("training at once, pages", figures.get("running_max_pages", 0)),
        ("errors", figures["errors"]),
        ("isolation leaks", figures["isolation_leaks"]),
        ("health checks failed", f"{figures['health_failures']} of {figures['health_checks']}"),
        (
            "server log: tracebacks · of a browser tab gone away (not failures)",
            f"{figures['server_log_tracebacks']} · {figures.get('server_log_clients_gone', 0)}",
        ),
        ("peak RSS (MB)", figures["peak_rss_mb"]),
        ("final RSS (MB)", figures["final_rss_mb"]),
        (
            "per round: s, peak MB, end MB",
            [[r["seconds"], r["peak_rss_mb"], r["end_rss_mb"]] for r in rounds],
        ),
        ("page load p50 / p95 (s)", f"{figures['page_load_p50_s']} / {figures['page_load_p95_s']}"),
        ("longest a run's status stood still (s)", figures.get("run_still_max_s")),
        ("total time (s)", figures.get("total_seconds")),
        ("load average (1 min) before/after", figures.get("load_average")),
        ("result", "PASS" if not figures["failures"] else "FAIL"),
    ]


# ----------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=8, help="browser sessions at once")
    parser.add_argument("--rounds", type=int, default=None, help="rounds of the same load")
    parser.add_argument(
        "--quick", action="store_true", help="one short round (1 drawing, 1 tour): a smoke test"
    )
    parser.add_argument("--max-runs", type=int, default=1, help="LENET_VIZ_MAX_RUNS")
    parser.add_argument("--time-limit", type=float, default=900, help="seconds, for everything")
    parser.add_argument("--rss-limit-mb", type=float, default=4096)
    parser.add_argument(
        "--growth-mb", type=float, default=200, help="allowed RSS growth from round 1 to the last"
    )
    parser.add_argument("--output", type=Path, default=OUTPUT / "loadtest.json")
    args = parser.parse_args(argv)
    if args.sessions < 1 or args.max_runs < 1:
        parser.error("--sessions and --max-runs must be at least 1")
    if args.rounds is None:
        args.rounds = 1 if args.quick else 2
    return args


def missing_requirements() -> str | None:
    if problem := chromium_problem():
        return problem
    from lenet_viz.checkpoints.store import DEFAULT_CHECKPOINT_NAMES, REPO_CHECKPOINT_DIR
    from lenet_viz.data.datasets import data_available

    if not (REPO_CHECKPOINT_DIR / DEFAULT_CHECKPOINT_NAMES["modern"]).is_file():
        return "the shipped modern checkpoint is missing (see checkpoints/README.md)"
    if not data_available("mnist"):
        return "MNIST is not fetched: run `make data`"
    return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if problem := missing_requirements():
        print(f"error: {problem}", file=sys.stderr)
        return 2
    settings = Settings(
        sessions=args.sessions,
        rounds=args.rounds,
        draw_repeats=1 if args.quick else 3,
        switch_tours=1 if args.quick else 2,
        max_runs=args.max_runs,
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    log = args.output.with_name(args.output.stem + "-server.log")  # its own, next to the JSON
    port = free_port()
    url = url_of(port)
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    rounds, problems = [], []
    with tempfile.TemporaryDirectory(prefix="lenet-loadtest-") as folder:
        copy_shipped_checkpoints(Path(folder))
        hook = Path(folder) / "hook"
        hook.mkdir()
        (hook / "sitecustomize.py").write_text(STACK_DUMP_HOOK)
        stacks = args.output.with_name(args.output.stem + "-stacks.txt")
        stacks.write_text("")
        os.environ["LOADTEST_STACKS"] = str(stacks)
        env = {
            **os.environ,
            "LENET_VIZ_MAX_RUNS": str(args.max_runs),
            "LENET_VIZ_CHECKPOINTS": folder,
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")])),
        }
        server = start_app(port, log, env)
        os.environ["LOADTEST_SERVER_PID"] = str(server.pid)
        monitor = Monitor(server.pid, url)
        try:
            say(f"starting the app at {url} (LENET_VIZ_MAX_RUNS={args.max_runs})")
            wait_until_serving(server, port, log)
            say("the app answers; opening the browser")
            monitor.start()
            asyncio.run(
                asyncio.wait_for(
                    run_rounds(url, settings, monitor, rounds), timeout=args.time_limit
                )
            )
        except TimeoutError:
            problems.append(f"the load test did not end within its limit of {args.time_limit} s")
        except Exception as error:
            problems.append(f"{type(error).__name__}: {error}")
        finally:
            monitor.stop()
            stop_app(server)
    figures = summarize(rounds, settings, monitor, log.read_text(errors="replace"))
    figures["failures"] = problems + figures["failures"]
    if figures["rounds"] < settings.rounds and not problems:
        figures["failures"].append(f"only {figures['rounds']} of {settings.rounds} rounds ran")
    figures["failures"] += memory_failures(figures["per_round"], args.rss_limit_mb, args.growth_mb)
    figures["total_seconds"] = round(time.monotonic() - started, 1)
    figures["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    figures["cpu_count"] = os.cpu_count()
    figures["passed"] = not figures["failures"]

    args.output.write_text(json.dumps(figures, indent=2) + "\n")
    print(format_table(table_rows(figures)))
    for failure in figures["failures"]:
        print(f"FAILED: {failure}")
    print(f"figures written to {args.output}")
    return 0 if figures["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
