"""A session on the Train page: start a run with the other trainers, watch its status until the
results, F5 mid-run, pause and close the tab, train and save; and how the page's status reads."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time

from loadtest import say
from loadtest.server import dump_server_stacks
from loadtest.session import (
    ACTION_MS,
    PAGE_TITLES,
    SCRIPT_STATE_JS,
    Session,
    check_page,
    choose,
    open_page,
    save_failure_screenshot,
    wait_idle,
)

RUN_SECONDS = 240  # one Tiny run, queue included, on a loaded machine
# The live panel's "Last update" clock unchanged this long while the run is not over: the page
# stopped polling. (The run's own status may rightly stay the same longer: an end-of-epoch
# test on a busy server; that time is reported as a figure, `run_still_max_s`.)
STALL_SECONDS = 60
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
IDLE_TRAIN_TEXT = "Choose the settings and press"  # Train, before any run
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


async def read_status(session: Session, now: float) -> dict:
    """The Train page's status (TRAIN_STATUS_JS), kept in the session's reads."""
    status = await session.page.evaluate(TRAIN_STATUS_JS)
    session.status_reads.append((now, status["progress"]))
    if queued := parse_queued(status["queued"]):
        session.queued_reads.append(queued)
    return status


async def report_stall(session: Session, last_text: str | None, last_clock: str | None) -> int:
    """A Train page that stopped updating: the session's failure (its index is returned), a
    screenshot and the server's stacks; then a click on Train, as a user would."""
    state = await session.page.evaluate(SCRIPT_STATE_JS)
    stall = len(session.errors)
    session.fail(
        f"the Train page stopped updating: {last_text!r}, {last_clock!r} for "
        f"{STALL_SECONDS} s (script state {state})"
    )
    await save_failure_screenshot(session)
    dump_server_stacks(session.label)
    await open_page(session, "Train")
    return stall


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
        status = await read_status(session, now)
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
            stall = await report_stall(session, last_text, last_clock)
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
