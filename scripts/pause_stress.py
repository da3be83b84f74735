"""Pause/resume stress: N browser sessions each start a run on the Train page, then press Pause
and Resume ROUNDS times, all at once, against one local server (LENET_VIZ_MAX_RUNS=1, so most
runs pause from the queue). Prints each session's errors and the uncaught JavaScript errors of
its page; exits 1 if any page had one.

This is how the blank pages of the load test were reproduced and their fix checked (README,
Reliability): with two polling fragments per page, 3 or 4 of 5 pages threw "Cannot set a node
at a delta path"; with one, none.

    .venv/bin/python scripts/pause_stress.py --sessions 5 --rounds 6
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from loadtest import say, train_page  # noqa: E402  (the load test's page helpers)
from loadtest.server import copy_shipped_checkpoints  # noqa: E402
from loadtest.session import new_session, open_home  # noqa: E402
from loadtest.train_page import start_tiny_run, wait_for_status  # noqa: E402

from devtools.app_server import (  # noqa: E402
    chromium_options,
    free_port,
    start_app,
    stop_app,
    url_of,
    wait_until_serving,
)

RUN = ("Medium: 10,000 images", "3")  # long enough to pause and resume several times


async def pause_and_resume(session, url: str, together: asyncio.Barrier, rounds: int) -> None:
    page = session.page
    try:
        await open_home(session, url)
        await start_tiny_run(session, together, *RUN)
        for _ in range(rounds):
            if await wait_for_status(session, ("running", "queued")) is None:
                break
            await page.get_by_role("button", name="Pause", exact=True).click(timeout=30_000)
            if await wait_for_status(session, ("paused",)) != "paused":
                break
            await page.get_by_role("button", name="Resume", exact=True).click(timeout=30_000)
    except Exception as error:  # a timeout: the page stopped working
        session.fail(f"{type(error).__name__}: {str(error).splitlines()[0][:200]}")
    say(f"{session.label}: errors {session.errors}, JavaScript {session.page_errors}")


async def stress(url: str, sessions: int, rounds: int) -> int:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(**chromium_options())
        everyone = [await new_session(browser, i, "pause", 1) for i in range(sessions)]
        together = asyncio.Barrier(sessions)
        await asyncio.gather(*(pause_and_resume(s, url, together, rounds) for s in everyone))
        crashed = sum(bool(session.page_errors) for session in everyone)
        print(f"pages with an uncaught JavaScript error: {crashed} of {sessions}")
        return 1 if crashed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    train_page.RUN_SECONDS = 60  # a page that is blank shows no status: give up sooner
    port, folder = free_port(), tempfile.mkdtemp(prefix="lenet-pause-stress-")
    copy_shipped_checkpoints(Path(folder))
    env = {**os.environ, "LENET_VIZ_MAX_RUNS": "1", "LENET_VIZ_CHECKPOINTS": folder}
    log = REPO / "test-output" / "pause-stress-server.log"
    server = start_app(port, log, env)
    try:
        wait_until_serving(server, port, log)
        return asyncio.run(stress(url_of(port), args.sessions, args.rounds))
    finally:
        stop_app(server)


if __name__ == "__main__":
    sys.exit(main())
