"""A round: every session at once (each its role, the trainers pressing Start together), then
what each sees; and the rounds one after the other, on a warm server."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from dataclasses import dataclass, field

from devtools.app_server import chromium_options
from loadtest import say
from loadtest.roles import TRAINING_ROLES, assign_roles, check_isolation, draw, switch
from loadtest.server import Monitor
from loadtest.session import (
    CANVAS,
    Session,
    check_page,
    new_session,
    open_home,
    save_failure_screenshot,
)
from loadtest.train_page import close_tab_while_paused, train

SETTLE_SECONDS = 5  # after a round, before reading its "end" memory


@dataclass
class Settings:
    sessions: int
    rounds: int
    draw_repeats: int
    switch_tours: int
    max_runs: int


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
