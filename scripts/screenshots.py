"""The README's screenshots (`make screenshots`): every page of the app doing its job.

Starts `streamlit run app.py` on a free port of 127.0.0.1 (the browser tests' launcher, from
tests/browser/conftest.py), drives Debian's headless Chromium with Playwright, and saves
docs/screenshots/{home,train,compare,replay,draw,inside,home_zh,draw_zh,...}.png
(`scripts/screenshots.py replay ...` takes only the ones named):

- home: the top of the page, with the architecture diagram and table;
- train: a finished run of the modern ReLU net on the Medium run size (2 epochs): live curves,
  test accuracy, confusion matrix and misclassified gallery;
- compare: the notebook's experiment (sigmoid vs ReLU) on the Medium run size, run to the end:
  the overlaid curves, the gradient norms and the summary table;
- replay: the same experiment's "inside the net" panel after the run, the slider at the end:
  sigmoid's C1 kernels still the noise they started as, ReLU's smooth stroke detectors;
- draw: a 3 drawn with mouse strokes, its prediction, probabilities and preprocessing steps;
- inside: that digit on the Inside page read by the shipped faithful net: every layer's maps;
- inside_connections: then its S2 -> C3 view, a C3 map clicked in the connection table (the
  paper's Table I) and opened;
- invariance: the Inside page's invariance explorer, a test digit turned and thickened;
- saliency: the Inside page's occlusion map and input gradient for a test digit;
- top_digits: the Inside page's top digits of every C3 map, receptive fields outlined;
- robustness: the Robustness page, the shipped modern and faithful nets side by side;
- home_zh, draw_zh: the Home page and the Draw page (a drawn 3) in Chinese (`?lang=zh`).

`python scripts/screenshots.py NAME...` retakes only those pictures (e.g. `robustness`).

Nothing is saved in checkpoints/: the shipped models are only read. The time goes into the two
training runs (20,000 and 2 x 10,000 images): about 70 s in all on the quiet 2-core machine,
7 minutes while other jobs kept it busy. Exits 1 with a message (the server
log's tail, and a picture of the failing page in test-output/) if a page does not show what it
should.
"""

from __future__ import annotations

import contextlib
import io
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from devtools.app_server import (  # noqa: E402  (needs the repo root on sys.path)
    choose,
    chromium_options,
    chromium_problem,
    free_port,
    launch_app,
    set_number,
    stop_app,
    url_of,
)
from tests.browser.conftest import OUTPUT, TEST_ACCURACIES, wait_for_app  # noqa: E402

SCREENSHOTS = REPO / "docs" / "screenshots"
SERVER_LOG = OUTPUT / "screenshots-server.log"
WIDTH = 1400
VIEWPORT = {"width": WIDTH, "height": 1300}  # room for a selectbox's list below the settings
RUN_MS = 600_000  # one training run, on a busy shared machine (seconds on a quiet one)
MAX_WINDOW_HEIGHT = 8_000  # px: the tallest window a page is drawn in
MAX_HEIGHT = 4_000  # px: the longest picture kept
MARGIN = 16  # px of the page kept under the last element of a band
MAX_BYTES = 600_000  # a PNG larger than this is saved with a 256-colour palette
# Streamlit's developer menu and Deploy button are hidden: they are not part of the app.
SERVER_ENV = {"STREAMLIT_CLIENT_TOOLBAR_MODE": "minimal"}

MEDIUM = "Medium: 10,000 images"
TRAIN_EPOCHS = 2
CANVAS = "[data-testid=stBidiComponentIsolated] canvas.drawing-pad"
DRAWN_DIGIT = "3"
# Inside shows the faithful net: its S2 -> C3 table is the paper's Table I (p.8), not a full one.
FAITHFUL = "Shipped: faithful LeNet-5 (1998)"
C3_MAP, S2_MAP = 6, 1  # the cell clicked in the connection table (Table I connects them)

CONTENT = "[data-testid=stMainBlockContainer] [data-testid=stVerticalBlock]"  # the page's body
MAIN_HEIGHT = """() => {
    const main = document.querySelector('[data-testid="stMain"]');
    return main ? main.scrollHeight : document.body.scrollHeight;
}"""
# True once `count` Plotly charts on the page have been drawn.
CHARTS_DRAWN = """(count) => [...document.querySelectorAll('.js-plotly-plot')]
    .filter((plot) => plot._fullLayout).length >= count"""


class ScreenshotError(Exception):
    """A page did not show what its screenshot should."""


# ----------------------------------------------------------------------------- saving


def top_of(page, selector: str) -> int:
    """The y of the element's top, in page pixels (the window is as tall as the page)."""
    return round(page.locator(selector).first.bounding_box()["y"])


def bottom_of(page, selector: str) -> int:
    box = page.locator(selector).first.bounding_box()
    return round(box["y"] + box["height"])


def content_bottom(page) -> list[tuple[int, int]]:
    """The whole page: from its top to the end of its content."""
    return [(0, bottom_of(page, CONTENT) + MARGIN)]


def save_page(page, name: str, bands: Callable = content_bottom) -> Path:
    """The app page as one picture: the horizontal `bands(page)` ((top, bottom) pairs, in page
    pixels) stacked, with a dashed line where a part of the page was left out.

    Streamlit scrolls inside its main area, so the window is made as tall as that area first
    (charts lay themselves out again for the new size) and the bands are measured in it.
    """
    from PIL import Image

    page.mouse.move(0, 0)  # no hover effects (heading links, tooltips) in the picture
    page.evaluate("() => document.activeElement?.blur()")  # nor a focus ring
    page.locator("[data-testid=stMain]").evaluate("(main) => main.scrollTo(0, 0)")
    height = min(page.evaluate(MAIN_HEIGHT), MAX_WINDOW_HEIGHT)
    page.set_viewport_size({"width": WIDTH, "height": max(height, VIEWPORT["height"])})
    try:
        page.wait_for_timeout(1_000)
        wait_for_app(page)
        pairs = bands(page)
        whole = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
        sidebar = page.locator("[data-testid=stSidebar]").bounding_box()
    finally:
        page.set_viewport_size(VIEWPORT)
    sidebar_width = round(sidebar["width"]) if sidebar else 0
    pieces = [whole.crop((0, top, WIDTH, min(bottom, whole.height))) for top, bottom in pairs]
    return write_png(stack(pieces, sidebar_width), SCREENSHOTS / name)


def stack(pieces: list, sidebar_width: int):
    """The pieces one under the other, a dashed grey line across the page between two."""
    from PIL import Image, ImageDraw

    gap = 2 * MARGIN
    height = sum(piece.height for piece in pieces) + gap * (len(pieces) - 1)
    image = Image.new("RGB", (WIDTH, min(height, MAX_HEIGHT)), "white")
    y = 0
    for index, piece in enumerate(pieces):
        if index:
            band = piece.crop((0, 0, WIDTH, 1)).resize((WIDTH, gap))  # the page's own colours
            image.paste(band, (0, y))
            draw = ImageDraw.Draw(image)
            for x in range(sidebar_width + 40, WIDTH - 40, 16):
                draw.line((x, y + gap // 2, x + 8, y + gap // 2), fill=(160, 160, 170), width=2)
            y += gap
        image.paste(piece, (0, y))
        y += piece.height
    return image


def write_png(image, path: Path) -> Path:
    """Write the PNG losslessly optimized, or with 256 colours if it would exceed MAX_BYTES."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, optimize=True)
    if path.stat().st_size > MAX_BYTES:
        image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path


# ----------------------------------------------------------------------------- helpers


OPENED = []  # the pages opened, the last one pictured if something fails


def open_page(context, url: str):
    page = context.new_page()
    OPENED.append(page)
    page.set_default_timeout(RUN_MS)
    page.goto(url)
    wait_for_app(page)
    return page


def stroke(page, canvas, points: list[tuple[float, float]]) -> None:
    """One pen stroke through `points` (canvas pixels): press, move, release."""
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=3)
    page.mouse.up()


def arc(cx: float, cy: float, radius: float, start: float, end: float, count: int = 24):
    """Points on a circle (screen coordinates, y down) from angle `start` to `end`, degrees."""
    angles = [start + (end - start) * i / (count - 1) for i in range(count)]
    return [
        (cx + radius * math.cos(math.radians(a)), cy + radius * math.sin(math.radians(a)))
        for a in angles
    ]


def prediction(page, label: str = "Prediction"):
    metric = page.locator("[data-testid=stMetric]").filter(has_text=label)
    return metric.locator("[data-testid=stMetricValue]")


def expect_text(page, text: str) -> None:
    page.get_by_text(text).first.wait_for()


# ----------------------------------------------------------------------------- the pages


def shoot_home(context, url: str) -> Path:
    page = open_page(context, url)
    expect_text(page, "The architecture")
    page.locator("[data-testid=stTable]").first.wait_for()
    page.locator("[data-testid=stMain] svg.static-figure").first.wait_for()  # the diagram
    return save_page(page, "home.png")


def shoot_home_zh(context, url: str) -> Path:
    """The Home page in Chinese (`?lang=zh`), for both READMEs."""
    page = open_page(context, f"{url}/?lang=zh")
    expect_text(page, "网络结构")
    page.locator("[data-testid=stTable]").first.wait_for()
    page.locator("[data-testid=stMain] svg.static-figure").first.wait_for()  # the diagram
    return save_page(page, "home_zh.png")


def shoot_draw_zh(context, url: str) -> Path:
    """The Draw page in Chinese reading a drawn 3, for both READMEs."""
    page = open_page(context, f"{url}/draw?lang=zh")
    draw_three(page, label="预测")
    expect_text(page, "你的手写数字如何变成网络的输入")
    page.locator("[data-testid=stImage]").nth(3).wait_for()
    wait_for_app(page)
    return save_page(page, "draw_zh.png")


def shoot_train(context, url: str) -> Path:
    page = open_page(context, f"{url}/train")
    choose(page, "Run size", MEDIUM, wait_for_app)
    set_number(page, "Epochs", TRAIN_EPOCHS, wait_for_app)
    page.get_by_role("button", name="Start").click()
    run_line = page.locator("[data-testid=stMarkdownContainer]").filter(has_text="Run:")
    run_line = run_line.first.inner_text()
    if "modern" not in run_line or "relu" not in run_line:
        raise ScreenshotError(f"the Train page's defaults are not the modern ReLU net: {run_line}")
    page.get_by_role("heading", name="Results").wait_for(timeout=RUN_MS)
    expect_text(page, "Confusion matrix")
    expect_text(page, "Misclassified test images")
    wait_for_app(page)
    page.wait_for_function(CHARTS_DRAWN, arg=4)
    return save_page(page, "train.png")


def shoot_compare(context, url: str) -> Path:
    page = open_page(context, f"{url}/compare")
    choose(page, "Run size", MEDIUM, wait_for_app)
    page.get_by_role("button", name="The notebook's experiment").click()
    accuracy = page.wait_for_function(TEST_ACCURACIES, timeout=RUN_MS).json_value()
    if not accuracy.get("relu", 0) > accuracy.get("sigmoid", 100) + 30:
        raise ScreenshotError(
            f"the notebook's experiment did not show ReLU climbing past sigmoid: {accuracy}"
        )
    wait_for_app(page)
    page.wait_for_function(CHARTS_DRAWN, arg=3)
    return save_page(page, "compare.png")


def shoot_replay(context, url: str) -> Path:
    page = open_page(context, f"{url}/compare")
    choose(page, "Run size", MEDIUM, wait_for_app)
    page.get_by_role("button", name="The notebook's experiment").click()
    page.locator(".st-key-compare_replay_stop input[type=range]").wait_for(
        state="attached", timeout=RUN_MS
    )
    wait_for_app(page)
    text = page.locator(".st-key-compare_inside_panel").inner_text()
    if "sigmoid · iteration 313" not in text or "relu · iteration 313" not in text:
        raise ScreenshotError(f"the replay does not show both runs at their end: {text[:300]}")
    return save_page(page, "replay.png", bands=inside_panel)


def inside_panel(page) -> list[tuple[int, int]]:
    """The Compare page's "inside the net" panel only."""
    panel = ".st-key-compare_inside_panel"
    return [(top_of(page, panel) - MARGIN, bottom_of(page, panel) + MARGIN)]


def draw_three(page, label: str = "Prediction") -> None:
    """A 3 in two strokes: the upper bowl, then the lower one, as a hand writes it (`label`:
    the prediction's, in the page's language)."""
    canvas = page.locator(CANVAS)
    canvas.wait_for()
    stroke(page, canvas, arc(140, 95, 52, -165, 90))
    wait_for_app(page)
    stroke(page, canvas, arc(138, 195, 58, -90, 165))
    wait_for_app(page)
    try:
        prediction(page, label).filter(has_text=DRAWN_DIGIT).wait_for(timeout=30_000)
    except Exception as error:
        read = prediction(page, label).all_inner_texts()
        raise ScreenshotError(f"the drawn {DRAWN_DIGIT} was read as {read or 'nothing'}") from error


def shoot_draw(page) -> Path:
    draw_three(page)
    expect_text(page, "How your drawing becomes the network's input")
    page.locator("[data-testid=stImage]").nth(3).wait_for()  # the 4 preprocessing steps
    wait_for_app(page)
    return save_page(page, "draw.png")


def shoot_inside(page) -> Path:
    """The drawn digit on Inside, read by the faithful net: every layer's maps."""
    page.get_by_role("link", name="See what every layer of LeNet-5 sees").click()
    wait_for_app(page)
    expect_text(page, "Looking at the digit you drew")
    choose(page, "Model", FAITHFUL, wait_for_app)
    return save_page(page, "inside.png", bands=top_down_to(".st-key-inside_maps"))


def shoot_inside_connections(page) -> Path:
    """Then its S2 -> C3 view, with a cell of the paper's Table I clicked: that C3 map opened."""
    choose_radio(page, "inside_view", "S2 → C3 connections", "This net uses the paper's")
    table = page.locator(".st-key-inside_connection_table .nsewdrag").first
    table.scroll_into_view_if_needed()
    box = table.bounding_box()
    x = box["x"] + box["width"] * (C3_MAP + 0.5) / 16
    y = box["y"] + box["height"] * (S2_MAP + 0.5) / 6
    page.mouse.move(x, y)
    page.wait_for_timeout(300)  # Plotly picks the hovered point before the click
    page.mouse.click(x, y)
    wait_for_app(page)
    expect_text(page, f"C3 map {C3_MAP} sees S2 maps")
    return save_page(
        page, "inside_connections.png", bands=top_down_to(".st-key-inside_c3_breakdown")
    )


def top_down_to(selector: str) -> Callable:
    """Bands for save_page: the page from its top to the bottom of `selector`."""
    return lambda page: [(0, bottom_of(page, selector) + MARGIN)]


# ----------------------------------------------------------------------------- issue 14's views

COMPUTE_MS = 600_000  # a first visit computes what is then cached per model


def choose_radio(page, key: str, option: str, shows: str) -> None:
    """Click `option` of the radio with widget key `key`, then wait for the text `shows`."""
    page.locator(f".st-key-{key} label").filter(has_text=option).first.click()
    page.get_by_text(shows).first.wait_for(timeout=COMPUTE_MS)
    wait_for_app(page, COMPUTE_MS)


def inside_view(context, url: str, view: str, shows: str):
    page = open_page(context, f"{url}/inside")
    choose_radio(page, "inside_view", view, shows)
    return page


def press(page, label: str, steps: int) -> None:
    """Move the slider labelled `label` by `steps` steps (negative: left), as the keyboard
    does (Streamlit's slider is an <input type=range> named by its label)."""
    thumb = page.get_by_role("slider", name=label)
    thumb.focus()
    for _ in range(abs(steps)):
        thumb.press("ArrowRight" if steps > 0 else "ArrowLeft")
    wait_for_app(page)


def shoot_invariance(context, url: str) -> Path:
    page = inside_view(context, url, "Move, turn, thicken (invariance)", "still read it?")
    press(page, "Rotation (degrees, anticlockwise)", 7)  # 35 degrees
    press(page, "Stroke width (pixels per side)", 4)  # one pixel thicker
    press(page, "Shift right (pixels)", 4)  # two pixels right
    page.wait_for_function(CHARTS_DRAWN, arg=3)
    return save_page(page, "invariance.png")


def shoot_saliency(context, url: str) -> Path:
    page = inside_view(context, url, "Why this answer? (saliency)", "With the square centred")
    page.wait_for_function(CHARTS_DRAWN, arg=1)
    return save_page(page, "saliency.png")


def shoot_top_digits(context, url: str) -> Path:
    page = inside_view(context, url, "What each map looks for", "that excite it most")
    choose_radio(page, "inside_top_layer", "C3", "14x14 patch of the input")
    page.wait_for_function(CHARTS_DRAWN, arg=1)
    return save_page(page, "top_digits.png")


def shoot_robustness(context, url: str) -> Path:
    page = context.new_page()  # not open_page: the first visit computes two nets' curves
    OPENED.append(page)
    page.set_default_timeout(RUN_MS)
    page.goto(f"{url}/robustness")
    wait_for_app(page, COMPUTE_MS)
    page.get_by_role("heading", name="How robust is it?").wait_for()
    page.locator(".st-key-robustness_curves .static-figure").wait_for()  # drawn by the page
    return save_page(page, "robustness.png")


# ----------------------------------------------------------------------------- main


def check_ready() -> None:
    from lenet_viz.checkpoints.store import DEFAULT_CHECKPOINT_NAMES, REPO_CHECKPOINT_DIR
    from lenet_viz.data.datasets import data_available

    if problem := chromium_problem():
        raise ScreenshotError(problem)
    if not data_available("mnist"):
        raise ScreenshotError("MNIST is not fetched: run `make data`")
    missing = [
        n for n in DEFAULT_CHECKPOINT_NAMES.values() if not (REPO_CHECKPOINT_DIR / n).is_file()
    ]
    if missing:
        raise ScreenshotError(f"the shipped checkpoints {missing} are missing from checkpoints/")


PICTURES = (
    "home",
    "train",
    "compare",
    "replay",
    "draw",
    "inside",
    "invariance",
    "saliency",
    "top_digits",
    "robustness",
    "home_zh",
    "draw_zh",
)


def take_all(url: str, names: tuple[str, ...] = PICTURES) -> list[Path]:
    from playwright.sync_api import sync_playwright

    saved = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**chromium_options())

        def context():
            return browser.new_context(viewport=VIEWPORT)

        try:
            shots = {
                "home": lambda: shoot_home(context(), url),
                "train": lambda: shoot_train(context(), url),
                "compare": lambda: shoot_compare(context(), url),
                "replay": lambda: shoot_replay(context(), url),
                "invariance": lambda: shoot_invariance(context(), url),
                "saliency": lambda: shoot_saliency(context(), url),
                "top_digits": lambda: shoot_top_digits(context(), url),
                "robustness": lambda: shoot_robustness(context(), url),
                "home_zh": lambda: shoot_home_zh(context(), url),
                "draw_zh": lambda: shoot_draw_zh(context(), url),
            }
            for name, shoot in shots.items():
                if name in names and name in ("home", "train", "compare", "replay"):
                    saved.append(announce(name, shoot))
            if "draw" in names or "inside" in names:
                draw_page = open_page(context(), f"{url}/draw")
                if "draw" in names:
                    saved.append(announce("draw", lambda: shoot_draw(draw_page)))
                else:
                    draw_three(draw_page)
                if "inside" in names:
                    saved.append(announce("inside", lambda: shoot_inside(draw_page)))
                    saved.append(
                        announce("inside_connections", lambda: shoot_inside_connections(draw_page))
                    )
            for name, shoot in shots.items():
                if name in names and name not in ("home", "train", "compare"):
                    saved.append(announce(name, shoot))
        finally:
            browser.close()
    return saved


def announce(name: str, shoot: Callable[[], Path]) -> Path:
    started = time.monotonic()
    try:
        path = shoot()
    except ScreenshotError:
        raise
    except Exception as error:  # Playwright timeouts and the like: say which page
        failure = OUTPUT / f"screenshots-failed-{name}.png"
        with contextlib.suppress(Exception):
            OPENED[-1].screenshot(path=str(failure), full_page=True)
        raise ScreenshotError(
            f"the {name} page: {type(error).__name__}: {error}\n(what the page showed: {failure})"
        ) from error
    size = path.stat().st_size
    seconds = time.monotonic() - started
    print(f"saved {path.relative_to(REPO)} ({size / 1000:.0f} KB, {seconds:.0f} s)", flush=True)
    return path


def main(argv: list[str] | None = None) -> int:
    names = tuple(sys.argv[1:] if argv is None else argv) or PICTURES
    unknown = [name for name in names if name not in PICTURES]
    if unknown:
        print(
            f"error: no picture called {unknown}; choose from {', '.join(PICTURES)}",
            file=sys.stderr,
        )
        return 2
    try:
        check_ready()
        port = free_port()
        print(f"starting the app on {url_of(port)} (log: {SERVER_LOG})", flush=True)
        server = launch_app(port, SERVER_LOG, SERVER_ENV)
    except (ScreenshotError, RuntimeError) as error:
        print(f"error: cannot take the screenshots: {error}", file=sys.stderr)
        return 1
    try:
        take_all(url_of(port), names)
    except ScreenshotError as error:
        log = SERVER_LOG.read_text(errors="replace")[-2000:] if SERVER_LOG.exists() else ""
        print(
            f"error: screenshot failed: {error}\n--- server log (end) ---\n{log}", file=sys.stderr
        )
        return 1
    finally:
        stop_app(server)
    print(f"all screenshots are in {SCREENSHOTS.relative_to(REPO)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
