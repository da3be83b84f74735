"""Who does what in a round (train, draw, switch, reload, closetab), the Draw and switching
sessions' parts, and what each session may see afterwards (isolation)."""

from __future__ import annotations

import asyncio
import time

from loadtest import say
from loadtest.session import (
    ACTION_MS,
    CANVAS,
    Session,
    check_page,
    open_page,
    picker_options,
    wait_idle,
)
from loadtest.train_page import IDLE_TRAIN_TEXT, TRAIN_RUNS_JS

TOUR = ("Train", "Compare", "Draw", "Inside LeNet-5", "Home")  # a switching session's round
ROLES = ("train", "draw", "switch")
# Two more sessions when there are at least this many (issue #16): "reload" trains like "train"
# but presses F5 mid-run and must get its run back; "closetab" starts a run, pauses it and
# closes its tab, which must not keep anyone else waiting.
CLASSROOM_ROLES = ("reload", "closetab")
CLASSROOM_FROM = 5
TRAINING_ROLES = ("train", "reload")  # sessions that train, save and must see their own run
ALL_ROLES = ROLES + CLASSROOM_ROLES
CANVAS_SEND_SECONDS = 1.0  # after the last stroke: its rerun has reached the server
# Mouse strokes in canvas pixels (280x280), from the browser tests: they read as these digits.
STROKES = {
    "7": [[(45, 20), (236, 20)], [(236, 20), (170, 140), (118, 265)]],
    "1": [[(205, 3), (195, 140), (185, 272)]],
}
# The model picker's labels (ui/model_picker.py).
SAVED_PREFIX = "Saved by you: "
TRAINING_OPTION = "The model on the Train page"
UPLOAD_OPTION = "Upload a checkpoint"
DRAWN_DIGIT = "The digit you drew"  # Inside's choice, only after this session drew


def assign_roles(sessions: int) -> list[str]:
    """train, draw, switch, train, draw, ..., then from CLASSROOM_FROM sessions on the last two
    are "reload" and "closetab": 8 sessions give 2 train, 2 draw, 2 switch, 1 reload, 1
    closetab (three runs trained to the end, one paused and left behind)."""
    cycled = sessions - len(CLASSROOM_ROLES) if sessions >= CLASSROOM_FROM else sessions
    return [ROLES[index % len(ROLES)] for index in range(cycled)] + (
        list(CLASSROOM_ROLES) if sessions >= CLASSROOM_FROM else []
    )


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


async def draw(session: Session, repeats: int) -> None:
    """Draw a 7, look at it on Inside, come back; Clear and draw a 1; ... The last drawing is
    kept (Inside must show it to this session, and to no other)."""
    page = session.page
    await open_page(session, "Draw")
    for number in range(repeats):
        digit = "7" if number % 2 == 0 else "1"
        for points in STROKES[digit]:
            await stroke(page, points)
        # The pad sends the drawing at pen-up (the old canvas 200 ms later). Without this pause the
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
