"""A server restart in the middle of a run: the reconnected page says the run was lost."""

import re


def test_the_user_is_told_a_run_was_lost_when_the_server_restarts(
    restartable_app, browser, wait_for_app, screenshot
):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{restartable_app.url}/train")
    wait_for_app(page)
    page.get_by_role("button", name="Start", exact=True).click()
    page.wait_for_url(re.compile(r"[?&]runs=[0-9a-f]{12}"), timeout=60_000)
    wait_for_app(page)

    restartable_app.restart()  # the run was going on; the new process knows nothing of it

    warning = page.get_by_text("The server restarted")
    warning.wait_for(timeout=120_000)  # the browser reconnects by itself
    assert "intact" in warning.inner_text()
    screenshot(page, "restart.png")
    page.get_by_role("button", name="Got it").click()
    warning.wait_for(state="detached", timeout=60_000)
    page.close()
