"""A deep link on a fresh server: the first visitor opens /draw or /inside directly."""

import pytest

from tests.browser.conftest import wait_for_app

pytestmark = pytest.mark.browser

PAGE_LINKS = ["Home", "Train", "Compare", "Draw", "Inside LeNet-5", "Robustness", "Class board"]


def sidebar_links(page) -> list[str]:
    links = page.locator("[data-testid=stSidebarNav] a")
    return [text.strip().splitlines()[-1] for text in links.all_inner_texts()]  # after the icon


def test_a_deep_link_on_a_fresh_server_opens_the_page_through_app_py(restartable_app, browser):
    path, heading = "draw", "Draw a digit"
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.goto(f"{restartable_app.url}/{path}")  # the server's very first script run
        page.locator("h1").filter(has_text=heading).first.wait_for()
        wait_for_app(page)
        # app.py's navigation: the five pages, not the helper files of the pages/ folder.
        assert sidebar_links(page) == PAGE_LINKS
        assert page.url.rstrip("/").endswith(f"/{path}")
        assert page.title() == "LeNet-5 Explorer"  # app.py's page config
    finally:
        context.close()
