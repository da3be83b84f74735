"""A class at once, with lightweight clients (`--clients light`; loadtest.light): every session
opens Home, draws a digit on Draw and reads the prediction, looks at it on Inside, then sets up
a Tiny run of 1 epoch on Train, presses Start with everyone else, and watches its run until the
results. No browser: 30 Chromium pages on a 2-core machine would measure the browser.

What is recorded for each session: its page loads (rerun request to script_finished), the
prediction of its drawing, its run's queue wait (Start pressed to the first status the server
drew on its Train page that no longer says it waits, or to the results if the page went from
waiting to the results between two polls: an upper bound, within a poll of the run taking its
slot), whether its run finished, what the queue message said (place, waiting, busy), and
every error a user could see (exceptions, error messages, a lost connection, a wait that timed
out).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from dataclasses import dataclass, field

from loadtest import OUTPUT, say
from loadtest.light import LightSession, element_text
from loadtest.roles import STROKES
from loadtest.train_page import TINY, parse_queued, status_of

ACTION_SECONDS = 150  # any one script run, under load
RUN_SECONDS = 240  # Start to the results of one Tiny run, behind a class's queue of them
STAGGER_SECONDS = 0.2  # between two students opening the app (a class does not click at once)
DIGITS = ("7", "1")  # what the students draw, in turn (loadtest.roles.STROKES)
DRAWN_TEXT = "Looking at the digit you drew"  # Inside, once this session has drawn
EPOCHS_LABEL = "Epochs (1-50)"
PREDICTION = re.compile(r"Prediction: (\d)")
WATCH_PERIOD = 0.3  # how often a session reads its Train page while its run goes on


@dataclass
class Student:
    """One light session's record."""

    index: int
    label: str
    digit: str
    client: LightSession | None = None
    prediction: str | None = None
    saw_drawing_on_inside: bool = False
    started: float | None = None  # when Start was pressed (monotonic)
    ended: float | None = None  # when this session's part was over
    queue_wait: float | None = None  # Start to the first status drawn that is not "queued"
    run_seconds: float | None = None  # Start to the results
    run_finished: bool = False
    final_status: str | None = None
    queued_reads: list[tuple[int, int, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def fail(self, text: str) -> None:
        message = f"{self.label}: {text}"
        if message not in self.errors:
            self.errors.append(message)
            say(f"FAILED {message}")

    def check_page(self, where: str) -> None:
        for error in self.client.errors():
            self.fail(f"{where}: {error}")


def write_trail(student: Student) -> None:
    """A failed session's whole trail and what its page shows, for tracing it afterwards."""
    client = student.client
    folder = OUTPUT / "loadtest-class-trails"
    folder.mkdir(parents=True, exist_ok=True)
    shown = [
        f"{item.kind} {item.fragment_id[:6]} {element_text(item.kind, item.proto)[:120]!r}"
        for item in client.elements()
        if item.kind not in ("block", "html")
    ]
    (folder / f"{student.label.replace(' ', '_')}.txt").write_text(
        "\n".join(
            [*student.errors, f"timers: {client.timers_state()}", "", "trail:", *client.trail]
            + ["", "the page:", *shown]
        )
        + "\n"
    )


def progress_text(client: LightSession) -> str | None:
    texts = client.texts("progress")
    return texts[-1].replace("**", "") if texts else None


async def draw_and_look(student: Student) -> None:
    client = student.client
    await client.open("draw", ACTION_SECONDS)
    student.check_page("Draw")
    await client.draw(STROKES[student.digit], ACTION_SECONDS)
    shown = [m.group(1) for text in client.texts("metric") if (m := PREDICTION.search(text))]
    student.prediction = shown[0] if shown else None
    if student.prediction != student.digit:
        student.fail(f"drew a {student.digit}, the page reads {student.prediction or 'nothing'}")
    student.check_page("Draw, predicted")
    await client.open("inside", ACTION_SECONDS)
    student.saw_drawing_on_inside = client.has_text(DRAWN_TEXT)
    if not student.saw_drawing_on_inside:
        student.fail("Inside does not look at the digit this session drew")
    student.check_page("Inside")


async def set_up_run(student: Student) -> None:
    client = student.client
    await client.open("train", ACTION_SECONDS)
    await client.choose("Run size", TINY, ACTION_SECONDS)
    await client.set_number(EPOCHS_LABEL, 1, ACTION_SECONDS)
    student.check_page("Train, settings")


async def watch_run(student: Student, deadline: float) -> None:
    """Follow the Train page until its results show, or the deadline. The status is read from
    every progress bar and message the server draws (the page between two reads would miss a
    short wait), the results from the page."""
    client = student.client
    read = 0
    while True:
        drawn, read = client.drawn[read:], len(client.drawn)
        for moment, kind, text in drawn:
            if moment < student.started:
                continue
            if kind == "alert":
                if queued := parse_queued(text):
                    student.queued_reads.append(queued)
                continue
            status = status_of(text.replace("**", ""))
            if status not in (None, "queued") and student.queue_wait is None:
                student.queue_wait = moment - student.started
            if status not in (None, "running", "queued", "finished"):
                student.final_status = status
                student.fail(f"its run ended as {text!r}")
                return
        if client.has_text("Results", "heading"):
            student.run_finished = True
            student.final_status = status_of(progress_text(client))
            student.run_seconds = time.monotonic() - student.started
            if student.queue_wait is None:  # from queued to the results between two polls
                student.queue_wait = student.run_seconds
            return
        if time.monotonic() > min(deadline, student.started + RUN_SECONDS):
            student.fail(
                f"its run gave no results in time (last: {progress_text(client)!r}, "
                f"idle: {client.idle}, timers: {client.timers_state()}); its last messages: "
                + " | ".join(list(client.trail)[-16:])
            )
            return
        if client.closed_with:
            raise ConnectionError(client.closed_with)
        await asyncio.sleep(WATCH_PERIOD)


async def one_student(
    student: Student, url: str, start_together: asyncio.Barrier, deadline: float
) -> None:
    client = student.client
    trained = False
    try:
        await asyncio.sleep(student.index * STAGGER_SECONDS)
        await client.open("", ACTION_SECONDS)
        student.check_page("Home")
        await draw_and_look(student)
        await set_up_run(student)
        with contextlib.suppress(TimeoutError, asyncio.BrokenBarrierError):
            await asyncio.wait_for(start_together.wait(), timeout=ACTION_SECONDS)
        student.started = time.monotonic()
        trained = True
        await client.click("Start", ACTION_SECONDS)
        await watch_run(student, deadline)
        student.check_page("Train, results")
        say(
            f"{student.label}: drew {student.digit}, read {student.prediction}; run done "
            f"(waited {student.queue_wait or 0:.1f} s, {student.run_seconds or 0:.1f} s in all)"
        )
    except Exception as error:
        trail = " | ".join(list(client.trail)[-12:])
        student.fail(f"{type(error).__name__}: {str(error)[:300]}; its last messages: {trail}")
    finally:
        if not trained:  # do not keep the others waiting at the barrier
            await start_together.abort()
        student.ended = time.monotonic()
        if student.errors:
            write_trail(student)
        await client.close()


async def run_class(url: str, sessions: int, time_limit: float, students: list) -> None:
    """`sessions` students at once against the app at `url`, their records added to
    `students` (before they start, so a class cut short still has them)."""
    students += [
        Student(
            index,
            f"light {index}",
            DIGITS[index % len(DIGITS)],
            LightSession(url, f"light {index}"),
        )
        for index in range(sessions)
    ]
    start_together = asyncio.Barrier(sessions)
    deadline = time.monotonic() + time_limit
    say(f"{sessions} light sessions start")
    await asyncio.gather(
        *(one_student(student, url, start_together, deadline) for student in students)
    )
