"""The interface in English and 简体中文 (issue 23): the catalog, the chosen language, chart text.

- every message the pages and ui/ show has a Chinese translation, and the catalog in the repo is
  the one `make messages` would write (no message missing, none left over);
- the translations keep their {placeholders} and use d2l-zh's terms;
- `?lang=`, the sidebar's selector and the browser's locale choose the language (AppTest);
- the library's chart text, statuses and run names come out in Chinese.
The browser test that opens every page in Chinese is tests/browser/test_i18n_browser.py.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po
from streamlit.testing.v1 import AppTest

from lenet_viz.figures.architecture import architecture_figure
from lenet_viz.figures.live import LiveView, array_of
from lenet_viz.figures.training import epoch_figure, iteration_figure
from lenet_viz.nets.build import build_model
from lenet_viz.nets.config import ModelConfig
from lenet_viz.training.history import History
from ui.charts import chart_alt
from ui.i18n import (
    CHINESE,
    ENGLISH,
    LANG_PARAM,
    LOCALES,
    PLACEHOLDER,
    SELECTOR_KEY,
    language_of_locale,
)
from ui.library_text import figure_localizer, library_text, localized_figure

REPO = Path(__file__).resolve().parent.parent
CATALOG = LOCALES / "zh_CN" / "LC_MESSAGES" / "messages.po"
APP = str(REPO / "app.py")
# d2l-zh's terms for these messages' key words (the LeNet chapter and the glossary).
D2L_TERMS = {
    "Learning rate (log scale)": "学习率",
    "Batch size": "批量大小",
    "Activation": "激活函数",
    "Epochs (1-{max_epochs})": "轮次",
    "What every layer sees": "层",
}


def extracted_messages(tmp_path: Path) -> dict[str, object]:
    """What `make messages` extracts (babel.cfg), by msgid."""
    template = tmp_path / "messages.pot"
    CommandLineInterface().run(
        ["pybabel", "-q", "extract", "-F", str(REPO / "babel.cfg"), "-o", str(template), str(REPO)]
    )
    with template.open("rb") as file:
        return {message.id: message for message in read_po(file) if message.id}


def catalog_messages() -> dict[str, object]:
    with CATALOG.open("rb") as file:
        return {message.id: message for message in read_po(file) if message.id}


def msgid(message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def msgstr(message) -> str:
    return message.string if isinstance(message.string, str) else message.string[0]


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> dict[str, object]:
    return extracted_messages(tmp_path_factory.mktemp("pot"))


def test_every_ui_message_has_a_chinese_translation(extracted):
    catalog = catalog_messages()
    absent = sorted(msgid(m) for key, m in extracted.items() if key not in catalog)
    assert not absent, f"not in {CATALOG.name} (run `make messages`, then translate): {absent}"
    untranslated = sorted(
        msgid(m) for m in catalog.values() if not msgstr(m) or m.fuzzy or not all(m.string)
    )
    assert not untranslated, f"no Chinese translation in {CATALOG}: {untranslated}"


def test_the_catalog_holds_no_message_the_ui_no_longer_shows(extracted):
    left_over = sorted(msgid(m) for key, m in catalog_messages().items() if key not in extracted)
    assert not left_over, f"run `make messages`: {CATALOG.name} still has {left_over}"


def test_translations_keep_every_placeholder():
    for message in catalog_messages().values():
        english = message.id if isinstance(message.id, str) else message.id[1]  # the plural
        wanted = sorted(PLACEHOLDER.findall(english))
        assert sorted(PLACEHOLDER.findall(msgstr(message))) == wanted, msgid(message)
        assert msgstr(message).count("%{") == msgid(message).count("%{"), msgid(message)


def ui_sources() -> list[Path]:
    return [REPO / "app.py", *(REPO / "pages").rglob("*.py"), *(REPO / "ui").rglob("*.py")]


def calls_to(node, name: str) -> list[ast.Call]:
    return [
        n
        for n in ast.walk(node)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == name
    ]


def test_messages_are_plain_strings_babel_can_read():
    """Babel extracts only literal strings, and not from inside an f-string: `_(f"...")` or
    `f"{_('...')}"` would never reach the catalog, and `_(labels["name"])` would put "name" in
    it. (A value marked with N_ where it is defined is passed to _ by name.)"""
    marked = []
    for path in ui_sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = f"{path.relative_to(REPO)}:"
        for call in calls_to(tree, "N_") + calls_to(tree, "ngettext"):
            if not all(isinstance(a, ast.Constant) for a in call.args[:2]):
                marked.append(f"{where}{call.lineno}")
        for call in calls_to(tree, "_"):
            inside = [n for n in ast.walk(call.args[0]) if isinstance(n, ast.Constant)]
            if not isinstance(call.args[0], ast.Constant) and any(
                isinstance(n.value, str) for n in inside
            ):
                marked.append(f"{where}{call.lineno}")
        for fstring in (n for n in ast.walk(tree) if isinstance(n, ast.JoinedStr)):
            if calls_to(fstring, "_"):
                marked.append(f"{where}{fstring.lineno} (_ inside an f-string)")
    assert not marked, f"a message Babel cannot extract: {marked}"


def test_the_catalog_compiles():
    """What `pybabel compile` checks: e.g. "99 % on" reads as a %-format ("% o") that the
    translation must keep, so the English is worded around it."""
    with CATALOG.open("rb") as file:
        catalog = read_po(file)
    problems = [(msgid(message), errors) for message, errors in catalog.check()]
    assert not problems, problems


def test_no_module_rebinds_the_translation_function():
    """`_, middle, _ = st.columns(3)` in a function that also calls _("...") makes `_` local
    there: the call then fails with UnboundLocalError. Throwaway values get another name."""
    rebound = []
    for path in ui_sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.For | ast.With):
                targets = [node.target] if isinstance(node, ast.For) else []
            for target in targets:
                names = [n for n in ast.walk(target) if isinstance(n, ast.Name)]
                if any(n.id == "_" and isinstance(n.ctx, ast.Store) for n in names):
                    rebound.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not rebound, f"`_` assigned (it is the translation function): {rebound}"


def test_the_translations_use_d2l_zhs_terms():
    catalog = catalog_messages()
    for english, term in D2L_TERMS.items():
        assert english in catalog, f"{english!r} is no longer a message: update D2L_TERMS"
        assert term in msgstr(catalog[english]), (english, msgstr(catalog[english]))


def test_a_browser_locale_picks_the_language():
    assert language_of_locale("zh-CN") == language_of_locale("zh_TW") == CHINESE
    assert language_of_locale("en-GB") == language_of_locale("fr") == ENGLISH
    assert language_of_locale(None) == ENGLISH


def test_library_text_comes_out_in_chinese():
    assert library_text("paused", CHINESE) == "已暂停"
    assert library_text("C3 map 7", CHINESE) == "C3 特征图 7"
    assert library_text("sigmoid · SGD · lr 0.01", CHINESE) == "sigmoid · SGD · 学习率 0.01"
    assert library_text("paused", ENGLISH) == "paused"
    assert library_text("a text the catalog does not know", CHINESE) == (
        "a text the catalog does not know"
    )


def visible_text(fig) -> list[str]:
    """The figure's titles, axis titles, annotations and trace names."""
    layout = fig.layout
    texts = [layout.title.text, *(a.text for a in layout.annotations)]
    texts += [layout[name].title.text for name in layout if name.startswith(("xaxis", "yaxis"))]
    texts += [trace.name for trace in fig.data if trace.showlegend is not False]
    return [text for text in texts if text]


ENGLISH_WORD = re.compile(r"\b(?!LeNet|ReLU|RBF|MNIST|SDLM|[CSF]\d\b)[A-Za-z]{3,}")


@pytest.mark.parametrize(
    "make",
    [
        lambda: architecture_figure(build_model(ModelConfig(arch="faithful")).info()),
        lambda: iteration_figure(History()),
        lambda: epoch_figure(History()),
    ],
    ids=["architecture", "empty batch curves", "empty epoch curves"],
)
def test_a_library_chart_is_shown_in_chinese(make):
    english = visible_text(make())
    chinese = visible_text(localized_figure(make(), CHINESE))
    assert chinese != english
    assert not [text for text in chinese if ENGLISH_WORD.search(re.sub(r"<[^>]+>", "", text))]


def test_a_live_chart_is_shown_in_chinese_and_keeps_following_the_run():
    """The Train page's live curves are prepared figures (held as dicts, their data replaced at
    every poll): a view made for Chinese translates each figure once, when it builds it; its
    titles come out in Chinese, and the data sent is the run's newest."""
    from tests.test_live import made_up_trainer, record, streamlit_spec

    trainer = made_up_trainer(1)
    record(trainer, 20, epoch_every=10)
    english_view = LiveView(trainer, prepare=figure_localizer(ENGLISH))
    view = LiveView(trainer, prepare=figure_localizer(CHINESE))
    for each in (english_view, view):
        each.poll(trainer)
    english = streamlit_spec(english_view.iteration_figure())["layout"]["annotations"]
    chinese = streamlit_spec(localized_figure(view.iteration_figure(), CHINESE))
    titles = [note["text"] for note in chinese["layout"]["annotations"]]
    assert titles and not [text for text in titles if ENGLISH_WORD.search(text)], titles
    assert [note["text"] for note in english] != titles  # an English view stays English
    assert not view.follows(trainer, prepare=figure_localizer(ENGLISH))  # made again then
    assert view.follows(trainer, prepare=figure_localizer(CHINESE))
    figure = view.iteration_figure()
    record(trainer, 5, seed=1)
    view.poll(trainer)
    assert view.iteration_figure() is figure  # refreshed, not built (and translated) again
    shown = streamlit_spec(localized_figure(figure, CHINESE))
    assert len(array_of(shown["data"][0]["x"])) == 25  # the 5 new iterations sent too
    assert chart_alt(figure) == " · ".join(titles)


# ------------------------------------------------------------------ the app chooses


def home(**params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(params)
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_url_chooses_the_language():
    assert home().title[0].value == "LeNet-5 Explorer"
    chinese = home(**{LANG_PARAM: CHINESE})
    assert chinese.title[0].value == "LeNet-5 探索器"
    assert chinese.selectbox(key=SELECTOR_KEY).value == CHINESE


def test_the_selector_switches_the_language_and_the_url_keeps_it():
    at = home()
    assert at.selectbox(key=SELECTOR_KEY).value == ENGLISH
    at.selectbox(key=SELECTOR_KEY).set_value(CHINESE).run()
    assert at.title[0].value == "LeNet-5 探索器"
    assert at.query_params[LANG_PARAM] == CHINESE
    at.selectbox(key=SELECTOR_KEY).set_value(ENGLISH).run()
    assert at.title[0].value == "LeNet-5 Explorer"
    assert at.query_params[LANG_PARAM] == ENGLISH
