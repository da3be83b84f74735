"""The class board in a real browser (issue 25), on two app servers sharing one real PostgreSQL
(two replicas behind a load balancer): the teacher sets an assignments grid, two students open
the class link (each on another server, each in a browser of their own), each trains a Tiny run
of their part, and the board on either server shows both runs and their grid cells.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from conftest import OUTPUT, VIEWPORT, save_screenshot
from playwright.sync_api import expect

from devtools.app_server import free_port, start_app, stop_app, url_of, wait_until_serving
from lenet_viz.classroom import ClassBoard
from tests.conftest import fresh_postgres_database

TINY = "Tiny: 500 images"
RUN_MS = 600_000  # a Tiny run on a loaded shared machine (seconds on a quiet one)
BOARD_MS = 30_000


@pytest.fixture
def two_servers(chromium_path, checkpoint_env, postgres) -> Iterator[tuple[list[str], str]]:
    """Two app servers on one new PostgreSQL database; their URLs, and the database's."""
    database = fresh_postgres_database(postgres, "two_servers")
    env = {**checkpoint_env, "LENET_VIZ_DATABASE_URL": database}
    servers, ports, logs = [], [free_port()], []
    while len(ports) < 2:  # two ports nothing listens on yet: not the same one twice
        if (port := free_port()) != ports[0]:
            ports.append(port)
    try:
        for name, port in zip("ab", ports, strict=True):  # both start at once, then serve
            logs.append(OUTPUT / f"class-board-server-{name}.log")
            servers.append(start_app(port, logs[-1], env))
        for server, port, log in zip(servers, ports, logs, strict=True):
            wait_until_serving(server, port, log)
        yield [url_of(port) for port in ports], database
    finally:
        for server in servers:
            stop_app(server)


def choose(page, label: str, option: str) -> None:
    page.locator("[data-testid=stSelectbox]").filter(has_text=label).click()
    page.keyboard.type(option)
    page.keyboard.press("Enter")


def student_trains_their_part(
    browser, url: str, code: str, part: str, name: str, wait_for_app
) -> None:
    """A student of their own (a new browser context: their own cookies) opens the class link
    on Train, finds their part preloaded and their name in the sidebar, and trains a Tiny run;
    the name is still in its field on another page and after a reload."""
    context = browser.new_context(viewport={"width": 1400, "height": 1300})
    try:
        page = context.new_page()
        page.set_default_timeout(RUN_MS)
        page.goto(f"{url}/train?class={code}")
        wait_for_app(page)
        page.get_by_text(f"Your part in the class experiment: {part}").wait_for()
        name_field = page.get_by_label("Your name on the board")
        expect(name_field).to_have_value(name)
        choose(page, "Run size", TINY)
        wait_for_app(page)
        page.get_by_role("button", name="Start").click()
        page.get_by_role("heading", name="Results").wait_for(timeout=RUN_MS)
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Draw").click()
        wait_for_app(page)
        expect(page.get_by_role("heading", name="Draw a digit")).to_be_visible()
        expect(name_field).to_have_value(name)
        page.reload()
        wait_for_app(page)
        expect(name_field).to_have_value(name)
    finally:
        context.close()


def test_two_students_on_two_servers_fill_one_board(two_servers, browser, wait_for_app):
    (first, second), database = two_servers
    board = ClassBoard.from_url(database)
    new = board.create_class("Year 11")
    board.set_assignments(
        new.code, new.teacher_token, "activation", ["relu", "sigmoid"], "lr", [0.1]
    )

    names = ["Student 1", "Student 2"]  # one numbering across both servers
    parts = ["activation relu, lr 0.1", "activation sigmoid, lr 0.1"]
    for url, part, name in zip((first, second), parts, names, strict=True):
        student_trains_their_part(browser, url, new.code, part, name, wait_for_app)
    for url in (first, second):  # either replica shows the whole board
        context = browser.new_context(viewport=VIEWPORT)
        try:
            page = context.new_page()
            page.goto(f"{url}/classroom?class={new.code}&teacher={new.teacher_token}")
            wait_for_app(page)
            page.get_by_text("2 runs from 2 students").wait_for(timeout=BOARD_MS)
            pooled = page.locator(".js-plotly-plot").filter(has_text="pooled experiment")
            pooled.wait_for()
            cells = pooled.inner_text()
            assert len(re.findall(r"\(n=1\)", cells)) == 2, cells  # relu and sigmoid at lr 0.1
            assert "relu" in cells and "sigmoid" in cells
            if url == first:
                save_screenshot(page, "class_board.png")
        finally:
            context.close()
    assert sorted(run["student"] for run in board.runs(new.code)) == names
    board.engine.dispose()
