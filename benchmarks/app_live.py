"""Training in the app against the library alone: the pages' "Images / s" and `run_here()`.

As a real user's setup, where the browser runs on their own computer: the Streamlit server is
pinned to core 0 (CPU affinity) with one torch thread, and headless Chromium to core 1.
Each case trains in the app (the browser presses the page's button, waits for "Finished" and
reads the page's "Images / s"), then the same runs by `Trainer.run_here()` in a process pinned
to the same core with one thread, with the server idle:

- Compare, the notebook's experiment (sigmoid against ReLU, batch 32), at the Medium and Full
  run sizes (10,000 and 60,000 images a run);
- Train, the page's default net and settings for 10 epochs of the Full training set.

The ratio of the two is what the live view costs the training. The machine may be busy with
other work, which slows both sides alike only if it hits them alike; so each case also reports
the CPU-time ratio: the library's CPU seconds for the runs over the server's CPU seconds from
the click to "Finished" (training, every poll, Streamlit itself). It does not depend on load.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from devtools.app_server import (
    CHROMIUM,
    REPO,
    SERVER_START_SECONDS,
    choose,
    chromium_options,
    chromium_problem,
    free_port,
    launch_app,
    set_number,
    stop_app,
    url_of,
)

SERVER_CORE, BROWSER_CORE = 0, 1
START_SECONDS = SERVER_START_SECONDS
SERVER_LOG = REPO / "test-output" / "bench-app-live-server.log"
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
SIZE_LABELS = {
    "Tiny": "Tiny: 500 images",  # `make bench --quick`: checks that it works
    "Medium": "Medium: 10,000 images",
    "Full": "Full: 60,000 images",
}
TRAIN_EPOCHS = 10
TRAIN_SIZE = "Full"

# {label: value} of every st.metric on the page.
METRICS = """() => Object.fromEntries([...document.querySelectorAll('[data-testid=stMetric]')]
    .map((m) => [m.querySelector('[data-testid=stMetricLabel]').innerText.trim(),
                 m.querySelector('[data-testid=stMetricValue]').innerText.trim()]))"""
FINISHED = """() => {
    const bar = document.querySelector('[data-testid=stProgress]');
    return bar && bar.innerText.includes('Finished');
}"""
IDLE = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return app && app.getAttribute('data-test-script-state') === 'notRunning';
}"""


def taskset_available() -> bool:
    return shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2


def _number(text: str) -> float:
    return float(text.replace(",", "").split()[0])


# ----------------------------------------------------------------------------- the app


def pin_process(pid: int, core: int) -> None:
    """Every thread of process `pid` on `core` only (threads it starts later inherit it)."""
    for thread in os.listdir(f"/proc/{pid}/task"):
        os.sched_setaffinity(int(thread), {core})


def start_server(port: int, log: Path):
    """The app (`devtools.app_server.launch_app`) with one torch thread, pinned to SERVER_CORE."""
    server = launch_app(port, log, env=ONE_THREAD)
    pin_process(server.pid, SERVER_CORE)
    return server


def pinned_chromium(folder: Path) -> Path:
    """A launcher that starts Debian's Chromium on BROWSER_CORE (its children inherit it)."""
    launcher = folder / "chromium-on-core"
    launcher.write_text(f'#!/bin/sh\nexec taskset -c {BROWSER_CORE} {CHROMIUM} "$@"\n')
    launcher.chmod(0o755)
    return launcher


def wait_idle(page) -> None:
    page.wait_for_function(IDLE, timeout=START_SECONDS * 1000)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, all its threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu_seconds(pid: int) -> dict[str, float]:
    """{thread id: user + system CPU seconds} of every thread of a process (Linux /proc)."""
    found = {}
    for thread in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = Path(f"/proc/{pid}/task/{thread}/stat").read_text()
        except OSError:  # the thread has just ended
            continue
        fields = stat.rsplit(")", 1)[1].split()
        found[thread] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


def train_in_page(page, start_button, server_pid: int, timeout_s: float) -> dict:
    """Press the page's button, wait for the run to finish; the page's metrics (Images / s),
    the wall seconds and the server's CPU seconds in between.

    Also the CPU of the training thread (the busiest thread started after the click, sampled
    every half second: its last half second may be missed) and so the rest of the server's:
    what the page's polls, Streamlit and the browser's connection cost, measured directly."""
    before = thread_cpu_seconds(server_pid)
    cpu_before, started = cpu_seconds(server_pid), time.perf_counter()
    start_button.click()
    new_threads: dict[str, float] = {}
    while not page.evaluate(FINISHED):
        if time.perf_counter() - started > timeout_s:
            raise TimeoutError(f"the run did not finish within {timeout_s:.0f} s")
        for thread, seconds in thread_cpu_seconds(server_pid).items():
            if thread not in before:
                new_threads[thread] = seconds
        page.wait_for_timeout(500)
    wall = time.perf_counter() - started
    cpu = cpu_seconds(server_pid) - cpu_before
    wait_idle(page)
    metrics = page.evaluate(METRICS)
    training = max(new_threads.values(), default=0.0)
    return {
        "images_per_second": _number(metrics["Images / s"]),
        "iterations": int(_number(metrics["Iteration"])),
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 2),
        "training_thread_cpu_seconds": round(training, 2),
        "page_cpu_ms_per_poll": page_cost_per_poll(cpu - training, wall),
    }


def page_cost_per_poll(cpu_seconds: float, wall_seconds: float) -> float:
    """CPU milliseconds per poll (one every POLL_SECONDS of wall time)."""
    from ui.state import POLL_SECONDS

    return round(1000 * cpu_seconds / max(1.0, wall_seconds / POLL_SECONDS), 1)


def open_page(browser, url: str, heading: str, height: int):
    """A new tab on `url`, once its script has drawn `heading` and finished."""
    page = browser.new_page(viewport={"width": 1400, "height": height})
    page.set_default_timeout(START_SECONDS * 1000)  # a busy shared machine
    page.goto(url)
    page.get_by_role("heading", name=heading).wait_for()
    wait_idle(page)
    return page


def compare_in_app(browser, url: str, size: str, server_pid: int, timeout_s: float) -> dict:
    page = open_page(browser, f"{url}/compare", "Compare runs side by side", 1000)
    try:
        choose(page, "Run size", SIZE_LABELS[size], wait_idle)
        button = page.get_by_role("button", name="The notebook's experiment")
        return train_in_page(page, button, server_pid, timeout_s)
    finally:
        page.close()


def train_in_app(browser, url: str, server_pid: int, epochs: int, timeout_s: float) -> dict:
    page = open_page(browser, f"{url}/train", "Train LeNet-5", 1300)
    try:
        choose(page, "Run size", SIZE_LABELS[TRAIN_SIZE], wait_idle)
        set_number(page, "Epochs", epochs, wait_idle)
        button = page.get_by_role("button", name="Start", exact=True)
        return train_in_page(page, button, server_pid, timeout_s)
    finally:
        page.close()


# ----------------------------------------------------------------------------- the library

LIBRARY_RUN = """
import json, sys, time
import torch
from lenet_viz.training.config import PRESETS, TrainConfig
from lenet_viz.training.slots import RunSlots
from lenet_viz.training.runner import Trainer
case, epochs = sys.argv[1], int(sys.argv[2])
limits = dict(zip(("train_limit", "test_limit"),
                  [None if v == "all" else int(v) for v in sys.argv[3:5]]))
torch.set_num_threads(1)
if case == "compare":  # pages/compare.py's notebook experiment
    configs = [TrainConfig.from_dict({**PRESETS["seed"], "arch": "modern", "activation": a,
                                      "seed": 0, **limits})
               for a in ("sigmoid", "relu")]
else:  # pages/train.py's defaults, `epochs` epochs
    configs = [TrainConfig.from_dict(dict(arch="modern", activation="relu", optimizer="sgd",
                                          lr=0.01, momentum=0.9, batch_size=64, epochs=epochs,
                                          schedule="constant", seed=0, **limits))]
cpu = time.process_time()
trainer = Trainer(configs, slots=RunSlots(1)).run_here()
cpu = time.process_time() - cpu
print(json.dumps({"images_per_second": trainer.images_per_second, "cpu_seconds": round(cpu, 2),
                  "iterations": trainer.runs[0].iteration, "status": trainer.status}))
"""


def notebook_size(size: str) -> str:
    """The size the notebook's experiment trains at when `size` is chosen: the page raises a
    size too small to show its lesson (ui/compare/settings.experiment_size)."""
    from ui.compare.settings import experiment_size

    label = experiment_size("notebook", SIZE_LABELS[size])
    return next(key for key, text in SIZE_LABELS.items() if text == label)


def library_run(case: str, size: str, epochs: int = 1) -> dict:
    """The same runs by `Trainer.run_here()`, on the server's core, one torch thread."""
    from ui.runs.settings import RUN_SIZES  # the page's run sizes: (training, test) images

    limits = ["all" if v is None else str(v) for v in RUN_SIZES[SIZE_LABELS[size]]]
    command = ["taskset", "-c", str(SERVER_CORE), sys.executable, "-c", LIBRARY_RUN]
    result = subprocess.run(
        [*command, case, str(epochs), *limits],
        cwd=REPO,
        env={**os.environ, **ONE_THREAD},
        capture_output=True,
        text=True,
        timeout=3600,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- the table


def overhead_per_poll(app: dict, library: dict) -> float:
    """The server's CPU milliseconds beyond the library's, per poll of the page (one every
    POLL_SECONDS of the run's wall time): what a poll costs the training."""
    from ui.state import POLL_SECONDS

    polls = max(1.0, app["wall_seconds"] / POLL_SECONDS)
    return round(1000 * (app["cpu_seconds"] - library["cpu_seconds"]) / polls, 1)


def measure_in_app(
    compare_sizes=("Medium", "Full"), train_epochs: int | None = TRAIN_EPOCHS, log=print
) -> dict:
    """In-app and library images/s, and their ratio, for each case."""
    if not taskset_available():
        return {"skipped": "needs taskset and 2 cores"}
    if chromium_problem():
        return {"skipped": chromium_problem()}
    from playwright.sync_api import sync_playwright

    cases: dict = {}
    folder = Path(tempfile.mkdtemp(prefix="lenet-app-live-"))
    port = free_port()
    server = start_server(port, SERVER_LOG)
    url = url_of(port)
    try:
        with sync_playwright() as playwright:
            options = {**chromium_options(), "executable_path": str(pinned_chromium(folder))}
            browser = playwright.chromium.launch(**options)
            try:
                open_page(browser, url, "LeNet-5 Explorer", 1000).close()  # loads the libraries
                plan = [("compare", notebook_size(size), 1) for size in compare_sizes]
                if train_epochs:
                    plan.append(("train", TRAIN_SIZE, train_epochs))
                for case, size, epochs in plan:
                    name = f"{case} {size}" + (f", {epochs} epochs" if case == "train" else "")
                    log(f"  {name}: in the app…")
                    if case == "compare":
                        app = compare_in_app(browser, url, size, server.pid, timeout_s=3600)
                    else:
                        app = train_in_app(browser, url, server.pid, epochs, timeout_s=3600)
                    log(f"  {name}: the library alone…")
                    library = library_run(case, size, epochs)
                    ratio = app["images_per_second"] / library["images_per_second"]
                    cpu_ratio = library["cpu_seconds"] / app["cpu_seconds"]
                    cases[name] = {
                        "app": app,
                        "library": library,
                        "ratio": round(ratio, 3),
                        "cpu_ratio": round(cpu_ratio, 3),
                        "overhead_cpu_ms_per_poll": overhead_per_poll(app, library),
                    }
                    log(f"  {name}: {cases[name]}")
            finally:
                browser.close()
    finally:
        stop_app(server)
        shutil.rmtree(folder, ignore_errors=True)
    return {"cases": cases, "server_core": SERVER_CORE, "browser_core": BROWSER_CORE}


if __name__ == "__main__":  # python -m benchmarks.app_live [Medium,Full] [epochs]
    sizes = tuple(sys.argv[1].split(",")) if len(sys.argv) > 1 else ("Medium", "Full")
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else TRAIN_EPOCHS
    print(json.dumps(measure_in_app(sizes, epochs or None), indent=2))
