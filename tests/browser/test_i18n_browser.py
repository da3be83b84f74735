"""Every page in Chinese (issue 23): opened with `?lang=zh`, a page shows no English words but the
names that stay as they are (LeNet-5, MNIST, ReLU, C1–F6, SDLM, RBF...), numbers and units.

What is read: the sidebar and the page's body as the user sees them (`innerText`), and the text
of every chart (Plotly draws it as SVG). Commands and file names in `code` stay as typed, and
icons (Material Symbols ligatures such as "draw", marked translate=no) are not text.
A browser whose language is Chinese gets the Chinese pages without `?lang=`.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from lenet_viz.classroom import ClassBoard, RunRecord, new_identity
from tests.browser.conftest import wait_for_app
from tests.browser.test_draw_browser import CANVAS, stroke

pytestmark = pytest.mark.browser

PAGES = {  # url path: the page's title in Chinese
    "": "LeNet-5 探索器",
    "train": "训练 LeNet-5",
    "compare": "并排比较多次训练",
    "draw": "画一个数字",
    "inside": "LeNet-5 内部",
    "robustness": "它有多稳健？",
    "classroom": "班级看板",
}
# Names that stay as they are in the Chinese interface (issue 23), the names of activation
# functions and optimizers as d2l-zh writes them, the paper's authors and title, units.
KEPT = {
    *("LeNet", "MNIST", "Fashion", "ReLU", "SDLM", "RBF", "GELU", "sigmoid", "tanh", "Sigmoid"),
    *("SGD", "Adam", "softmax", "logits", "logit", "eps", "eta", "mu", "kk", "ETA"),
    *("LeCun", "Yann", "Léon", "Bottou", "Yoshua", "Bengio", "Patrick", "Haffner", "et", "al"),
    *("Gradient", "Based", "Learning", "Applied", "to", "Document", "Recognition"),
    *("px", "min", "csv", "pt", "CPU", "GIF", "PNG", "URL", "PyTorch", "Xavier", "Glorot"),
    *("English", "Language"),  # the language selector names itself in both languages
    "zh",  # d2l-zh, the Chinese book's name
}
NAME = re.compile(r"^(?:[CSF]\d|x\d*|[A-Za-z])$")  # C1-F6, "5x5"'s x, single letters (P(3), I)
# A page's first run may compute for minutes on a busy machine (Robustness: 2 models x 1,000
# digits x 17 distortions, once per model; Inside: the model's first pass).
PAGE_MS = 600_000
WORD = re.compile(r"[A-Za-zÀ-ÿ]+")

VISIBLE_TEXT = """() => {
    const parts = [];
    for (const where of ['[data-testid=stSidebar]', '[data-testid=stMain]']) {
        const root = document.querySelector(where);
        if (!root) continue;
        const copy = root.cloneNode(true);
        const kept = 'code, pre, style, script, svg, [translate=no], [role=img]';  // icons: no
        copy.querySelectorAll(kept).forEach((node) => node.remove());
        document.body.appendChild(copy);  // innerText needs a rendered node
        copy.style.position = 'absolute'; copy.style.left = '-99999px';
        parts.push(copy.innerText);
        copy.remove();
    }
    // Plotly's, those drawn as one SVG, and the line charts drawn as boxes (their .ff-t texts)
    const charts = '.main-svg text, svg.static-figure text, .fluid-figure .ff-t';
    for (const text of document.querySelectorAll(`[data-testid=stMain] :is(${charts})`)) {
        parts.push(text.textContent);
    }
    return parts.join('\\n');
}"""


def english_words(text: str) -> list[str]:
    """The words of `text` that are English and not a kept name."""
    kept = {word.lower() for word in KEPT}
    words = (w for w in WORD.findall(text) if w.lower() not in kept and not NAME.match(w))
    return sorted(set(words))


def lines_with(text: str, words: list[str]) -> list[str]:
    return [line for line in text.splitlines() if any(word in line for word in words)][:15]


def open_in_chinese(page, url: str, path: str, query: str = "") -> None:
    page.goto(f"{url}/{path}?lang=zh{query}")
    page.locator("h1").filter(has_text=PAGES[path]).first.wait_for()
    wait_for_app(page, PAGE_MS)


def open_every_expander(page) -> None:
    """What a learner finds by opening the page's expanders is read too (recipes, help)."""
    closed = page.locator("[data-testid=stExpander] details:not([open]) > summary")
    for _ in range(closed.count()):  # each click opens one: the first closed one is the next
        closed.first.click()
    wait_for_app(page, PAGE_MS)


def assert_all_chinese(page, what: str) -> None:
    page.wait_for_timeout(1500)  # charts drawn
    wait_for_app(page, PAGE_MS)
    text = page.evaluate(VISIBLE_TEXT)
    english = english_words(text)
    context = "\n".join(lines_with(text, english))
    assert not english, f"untranslated on {what}: {english}\n{context}"


@pytest.mark.parametrize("path", list(PAGES), ids=[p or "home" for p in PAGES])
def test_every_page_in_chinese_shows_no_english(app_url, page, path):
    open_in_chinese(page, app_url, path)
    open_every_expander(page)
    assert_all_chinese(page, f"/{path}")


def test_a_drawn_digit_is_read_in_chinese(app_url, page):
    """The Draw page after a stroke: the prediction, its chart and the preprocessing steps."""
    open_in_chinese(page, app_url, "draw")
    canvas = page.locator(CANVAS)
    canvas.wait_for()
    stroke(page, canvas, [(140, 50), (140, 230)])  # a 1
    page.get_by_text("你的手写数字如何变成网络的输入").wait_for(timeout=PAGE_MS)
    assert_all_chinese(page, "/draw after a stroke")


def test_a_chinese_browser_gets_the_chinese_interface(app_url, browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.goto(app_url)
        page.locator("h1").filter(has_text=PAGES[""]).first.wait_for()
        wait_for_app(page)
        nav = page.locator("[data-testid=stSidebarNav]").inner_text()
        assert "训练" in nav and "比较" in nav
    finally:
        context.close()


def a_class_with_runs(database_url: str):
    """A class on the server's board: an assignments grid, three runs of two students (one
    named, one with the board's default name) and the teacher's link."""
    board = ClassBoard.from_url(database_url)
    new = board.create_class("三年级二班")
    board.set_assignments(
        new.code, new.teacher_token, "activation", ["relu", "sigmoid"], "lr", [0.1]
    )
    students = [new_identity(), new_identity()]
    board.join(new.code, students[0], "小明")
    board.join(new.code, students[1])  # "Student 2"
    for number, (identity, activation, accuracy) in enumerate(
        [(students[0], "relu", 0.95), (students[1], "sigmoid", 0.11), (students[1], "relu", 0.93)]
    ):
        epochs = {"x": [1, 2], "y": [accuracy - 0.05, accuracy]}
        board.publish(
            new.code,
            identity,
            RunRecord(
                run_uid=f"zh-{number}",
                name=f"{activation} · SGD · lr 0.1",
                settings={"arch": "modern", "activation": activation, "lr": 0.1, "epochs": 2},
                curves={"test_accuracy": epochs, "loss": {"x": [1, 2, 3], "y": [2.3, 1.0, 0.5]}},
                train_accuracy=accuracy,
                test_accuracy=accuracy,
                duration_seconds=4.2,
                status="completed",
            ),
        )
    return new


def test_the_class_board_in_chinese(app_url, app_database, page):
    """The teacher's board with runs on it: the links, the assignments grid, the teacher's
    controls opened, the curves and the pooled experiment; and a student's part on Train."""
    new = a_class_with_runs(app_database)
    open_in_chinese(page, app_url, "classroom", f"&class={new.code}&teacher={new.teacher_token}")
    page.get_by_text("汇总的实验").first.wait_for()
    open_every_expander(page)
    assert_all_chinese(page, "the class board, as its teacher")

    student = page.context.browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        tab = student.new_page()
        open_in_chinese(tab, app_url, "train", f"&class={new.code}")
        tab.get_by_text("你在班级实验中的部分").first.wait_for()
        open_every_expander(tab)
        assert_all_chinese(tab, "Train, as a student of the class")
    finally:
        student.close()


def test_a_finished_run_on_train_in_chinese(app_url, page):
    """Train after a Tiny run: the live curves (prepared figures), the results, the inside view."""
    open_in_chinese(page, app_url, "train")
    page.locator("[data-testid=stSelectbox]").filter(has_text="训练规模").click()
    page.keyboard.type("极小")
    page.keyboard.press("Enter")
    wait_for_app(page, PAGE_MS)
    page.get_by_role("button", name="开始", exact=True).click()
    page.get_by_role("heading", name="结果").wait_for(timeout=PAGE_MS)
    open_every_expander(page)
    assert_all_chinese(page, "/train after a run")


def test_the_uploads_in_chinese(app_url, page):
    """Draw with a picture to upload and a checkpoint to upload: Streamlit's own words on its
    upload boxes ("Upload", "200MB per file") come out in Chinese too."""
    open_in_chinese(page, app_url, "draw")
    dropzones = page.locator("[data-testid=stFileUploaderDropzone]")
    page.get_by_text("上传图片", exact=True).click()
    # A click's rerun may not have begun when the page is read: wait for what it shows.
    expect(dropzones).to_have_count(1, timeout=PAGE_MS)
    page.locator("[data-testid=stSelectbox]").filter(has_text="模型").first.click()
    page.get_by_role("option", name="上传检查点（.pt）…").click()
    expect(dropzones).to_have_count(2, timeout=PAGE_MS)
    wait_for_app(page, PAGE_MS)
    assert_all_chinese(page, "/draw with its uploads")
