"""Browser tests: the real app, served once per session, driven by Playwright in Debian's Chromium.

Fixtures:
- `app_url`: the base URL of `streamlit run app.py` on a free localhost port, its class board in
  `app_database` (a temporary SQLite file). If the shipped checkpoints are missing, the server
  gets LENET_VIZ_CHECKPOINTS pointing at a temporary folder with a quickly trained modern net
  (and an untrained faithful one).
- `browser`: headless /usr/bin/chromium (the tests are skipped, saying why, if it is missing).
- `page`: a fresh tab, 1400x1000; an uncaught JavaScript error on it fails the test.
- `wait_for_app(page)`: wait until the script run that is going on has finished.
- `screenshot(page, "name.png")`: the whole page, saved to test-output/screenshots/.

Every test in this folder gets the `browser` marker.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devtools import app_server as devserver
from devtools.app_server import free_port, stop_app

REPO = Path(__file__).resolve().parents[2]
OUTPUT = REPO / "test-output"
SCREENSHOTS = OUTPUT / "screenshots"
VIEWPORT = {"width": 1400, "height": 1000}
RUN_SECONDS = 90  # one script run (the first one loads the models)
MAX_SCREENSHOT_HEIGHT = 12_000

# {run: test accuracy %} from the Compare summary table, once every run has one (else null).
TEST_ACCURACIES = """() => {
    const rows = [...document.querySelectorAll('[data-testid=stTable] tbody tr')];
    const values = Object.fromEntries(rows.map((row) => [
        row.querySelector('th').innerText.trim(),
        parseFloat(row.querySelector('td').innerText)]));
    const numbers = Object.values(values);
    return numbers.length && numbers.every((v) => !Number.isNaN(v)) ? values : null;
}"""


@pytest.fixture(autouse=True, scope="session")
def patient_expectations() -> None:
    """Playwright's `expect` gives up after 5 s by default: a script run on a busy machine (the
    first ones load the models) can take longer. Give each expectation a script run's time."""
    from playwright.sync_api import expect

    expect.set_options(timeout=RUN_SECONDS * 1000)


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


# ------------------------------------------------------------------ the app server


def _quick_checkpoints(folder: Path) -> None:
    """Stand-ins for the shipped checkpoints that are missing: a modern net trained for a
    short while on 12,000 MNIST digits, and an untrained faithful net."""
    from lenet_viz.checkpoints.store import (
        DEFAULT_CHECKPOINT_NAMES,
        REPO_CHECKPOINT_DIR,
        checkpoint_metadata,
        save_checkpoint,
    )
    from lenet_viz.data.datasets import load_split
    from lenet_viz.nets.build import build_model
    from lenet_viz.nets.config import ModelConfig
    from lenet_viz.training.config import preset_config
    from lenet_viz.training.runner import Trainer
    from lenet_viz.training.slots import RunSlots

    for arch, name in DEFAULT_CHECKPOINT_NAMES.items():
        shipped = REPO_CHECKPOINT_DIR / name
        if shipped.is_file():
            shutil.copy(shipped, folder / name)
            continue
        accuracy = None
        if arch == "modern":
            config = preset_config("fast", epochs=1, train_limit=12_000, test_limit=1_000)
            train = load_split("mnist", train=True).subset(12_000)
            test = load_split("mnist", train=False).subset(1_000)
            trainer = Trainer(config, train=train, test=test, slots=RunSlots(1)).run_here()
            model, accuracy = trainer.runs[0].model, trainer.runs[0].final.get("test_acc")
        else:
            model = build_model(ModelConfig(arch="faithful"), seed=0)
        metadata = checkpoint_metadata(model, dataset="mnist", train_config=None, test_acc=accuracy)
        save_checkpoint(model, folder / name, metadata)


@pytest.fixture(scope="session")
def checkpoint_env(tmp_path_factory) -> dict[str, str]:
    """Environment for the server: LENET_VIZ_CHECKPOINTS only if a shipped checkpoint is missing."""
    from lenet_viz.checkpoints.store import DEFAULT_CHECKPOINT_NAMES, REPO_CHECKPOINT_DIR

    shipped = [REPO_CHECKPOINT_DIR / name for name in DEFAULT_CHECKPOINT_NAMES.values()]
    if all(path.is_file() for path in shipped):
        return {}
    folder = tmp_path_factory.mktemp("checkpoints")
    _quick_checkpoints(folder)
    return {"LENET_VIZ_CHECKPOINTS": str(folder)}


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
    if problem := devserver.chromium_problem():
        pytest.skip(f"{problem}, to run the browser tests")
    return devserver.CHROMIUM


def launch_app(port: int, env: dict[str, str], log: Path):
    """`streamlit run app.py` on 127.0.0.1:port, serving (devtools.app_server)."""
    return devserver.launch_app(port, log, env)


@pytest.fixture(scope="session")
def app_database(tmp_path_factory) -> str:
    """The shared server's class board database: an SQLite file of the test session's own (not
    the repo's data/classroom.sqlite), which tests may fill through `ClassBoard.from_url`."""
    return f"sqlite:///{tmp_path_factory.mktemp('board') / 'classroom.sqlite'}"


@pytest.fixture(scope="session")
def app_server(chromium_path, checkpoint_env, app_database) -> Iterator[str]:
    """`streamlit run app.py` on a free port, for the whole session; yields its base URL."""
    port = free_port()
    env = {**checkpoint_env, "LENET_VIZ_DATABASE_URL": app_database}
    server = launch_app(port, env, OUTPUT / "browser-app-server.log")
    try:
        yield devserver.url_of(port)
    finally:
        stop_app(server)


class RestartableApp:
    """An app server of one test's own, which the test can restart on the same port."""

    def __init__(self, env: dict[str, str]):
        self.port, self.env = free_port(), env
        self.url = devserver.url_of(self.port)
        self.log = OUTPUT / "browser-restartable-server.log"
        self.server = launch_app(self.port, env, self.log)

    def restart(self) -> None:
        stop_app(self.server)
        self.server = launch_app(self.port, self.env, self.log)


@pytest.fixture
def restartable_app(chromium_path, checkpoint_env) -> Iterator[RestartableApp]:
    app = RestartableApp(checkpoint_env)
    try:
        yield app
    finally:
        stop_app(app.server)


# ------------------------------------------------------------------ the browser


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(**devserver.chromium_options())
        yield chromium
        chromium.close()


def wait_for_app(page, timeout_ms: int = RUN_SECONDS * 1000) -> None:
    """Wait until Streamlit has connected and no script run is going on."""
    page.wait_for_function(
        """() => {
            const app = document.querySelector('[data-testid="stApp"]');
            return app && app.getAttribute('data-test-script-state') === 'notRunning';
        }""",
        timeout=timeout_ms,
    )


@pytest.fixture(scope="session")
def app_url(app_server, browser) -> str:
    """The served app, warmed up: one visit to the home page loads the libraries and switches
    Streamlit to app.py's navigation before any test opens a page directly."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(app_server)
        wait_for_app(page)
    finally:
        context.close()
    return app_server


@pytest.fixture
def page(browser):
    """A fresh tab. The test fails if the page threw an uncaught JavaScript error: Streamlit's
    frontend then blanks the whole page (e.g. "Cannot set a node at a delta path")."""
    context = browser.new_context(viewport=VIEWPORT)
    tab = context.new_page()
    tab.set_default_timeout(RUN_SECONDS * 1000)
    page_errors: list[str] = []
    tab.on("pageerror", lambda error: page_errors.append(str(error)))
    yield tab
    context.close()
    assert not page_errors, f"uncaught JavaScript errors on the page: {page_errors}"


@pytest.fixture(name="wait_for_app")
def wait_for_app_fixture() -> Callable:
    return wait_for_app


def save_screenshot(page, name: str) -> Path:
    """The whole app page, not just the window: Streamlit scrolls inside its main area, so the
    window is made as tall as that area for the picture, then put back."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    height = page.evaluate(
        """() => {
            const main = document.querySelector('[data-testid="stMain"]');
            return main ? main.scrollHeight : document.body.scrollHeight;
        }"""
    )
    size = page.viewport_size or VIEWPORT
    page.set_viewport_size(
        {"width": size["width"], "height": min(max(height, size["height"]), MAX_SCREENSHOT_HEIGHT)}
    )
    try:
        page.wait_for_timeout(800)  # charts re-layout to the new size
        wait_for_app(page)
        page.screenshot(path=str(path))
    finally:
        page.set_viewport_size(size)
    return path


@pytest.fixture
def screenshot() -> Callable:
    return save_screenshot
