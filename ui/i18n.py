"""The interface's language: English or 简体中文, chosen in one place, and `_()` to translate.

The messages are Python's `gettext`: every UI string is written in English and wrapped, `_("...")`
where it is shown, or `N_("...")` where it is defined at import time (then `_(value)` where it is
shown). Babel extracts them into `locales/messages.pot` and the Chinese catalog
`locales/zh_CN/LC_MESSAGES/messages.po` (kept in the repo); `make setup` compiles the `.mo`
(`make messages` re-extracts after a string changed). The library and the CLI stay English.

How a page's language is chosen (`choose_language`, once per script run, by app.py):
1. `?lang=zh` or `?lang=en` in the URL (the preset and Compare setup links carry it);
2. else the sidebar's selector, kept in session state (choosing there also writes `?lang=`);
3. else the browser's language, `st.context.locale`.

Chart text is built by `lenet_viz.figures` in English; `translate_figure` translates a built
figure's titles, axes, legends, notes and hover text through the same catalog (the templates of
the text those figures write are in ui/library_text.py).
"""

from __future__ import annotations

import functools
import gettext
import re
from collections.abc import Iterable
from pathlib import Path

import streamlit as st

from ui.state import LANGUAGE

LOCALES = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
ENGLISH, CHINESE = "en", "zh"
LANGUAGES = {ENGLISH: "English", CHINESE: "简体中文"}
CATALOGS = {CHINESE: "zh_CN"}  # the gettext locale folder of each translated language
HTML_LANG = {ENGLISH: "en", CHINESE: "zh-CN"}  # the page's <html lang>, for screen readers
LANG_PARAM = "lang"
SELECTOR_KEY = "language_selector"


def N_(message: str) -> str:  # noqa: N802 (gettext's name for "mark only, translate later")
    """Mark a string for the catalog without translating it (module-level constants)."""
    return message


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalog of `language`: its compiled `.mo`, else its `.po` compiled in memory (a setup
    that skipped `make setup`), else no translation at all (English)."""
    catalog = CATALOGS.get(language)
    if catalog is None:
        return gettext.NullTranslations()
    folder = LOCALES / catalog / "LC_MESSAGES"
    compiled, source = folder / f"{DOMAIN}.mo", folder / f"{DOMAIN}.po"
    if compiled.is_file() and compiled.stat().st_mtime >= source.stat().st_mtime:
        with compiled.open("rb") as file:
            return gettext.GNUTranslations(file)
    return _compile_in_memory(source)


def _compile_in_memory(source: Path) -> gettext.NullTranslations:
    import io

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with source.open("rb") as file:
        catalog = read_po(file)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def current_language() -> str:
    """The language of this script run (English outside one, e.g. in a library call)."""
    try:
        language = st.session_state.get(LANGUAGE, ENGLISH)
    except Exception:  # no script run: st.session_state cannot be read
        return ENGLISH
    return language if language in LANGUAGES else ENGLISH


def _(message: str) -> str:
    """`message` in the page's language."""
    return translations(current_language()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The singular or plural form of a message for `count`, in the page's language."""
    return translations(current_language()).ngettext(singular, plural, count)


def language_of_locale(locale: str | None) -> str:
    """The app's language for a browser locale such as "zh-CN" or "en-GB" (English if unknown)."""
    if locale and locale.lower().replace("_", "-").split("-")[0] == CHINESE:
        return CHINESE
    return ENGLISH


def _selected() -> None:
    """The selector changed: make the choice the URL's too, so that it wins from now on."""
    language = st.session_state[SELECTOR_KEY]
    st.session_state[LANGUAGE] = language
    st.query_params[LANG_PARAM] = language


def choose_language() -> str:
    """Settle this run's language (URL, then the selector's choice, then the browser's) and draw
    the selector in the sidebar. Called by app.py before the page runs."""
    asked = st.query_params.get(LANG_PARAM)
    if asked in LANGUAGES:
        st.session_state[LANGUAGE] = asked
    elif LANGUAGE not in st.session_state:
        st.session_state[LANGUAGE] = language_of_locale(st.context.locale)
    language = st.session_state[LANGUAGE]
    st.session_state[SELECTOR_KEY] = language
    st.sidebar.selectbox(
        "Language · 语言",
        tuple(LANGUAGES),
        key=SELECTOR_KEY,
        format_func=LANGUAGES.__getitem__,
        on_change=_selected,
    )
    # Screen readers pick their voice by <html lang>; Streamlit always writes "en".
    st.sidebar.html(
        f"<script>document.documentElement.lang = '{HTML_LANG[language]}';</script>",
        unsafe_allow_javascript=True,
    )
    return language


def language_param() -> dict[str, str]:
    """`{"lang": ...}` for a link that opens in this page's language."""
    return {LANG_PARAM: current_language()}


# ------------------------------------------------------------------ text made elsewhere

PART_SEPARATOR = " · "
PLACEHOLDER = re.compile(r"(?<!%)\{(\w+)\}")  # {name}, not Plotly's %{y}


@functools.cache
def _templates(language: str, messages: tuple[str, ...]) -> list[tuple[re.Pattern, str]]:
    """(pattern, translation) for each message with {placeholders}, longest first."""
    found = []
    for message in sorted(messages, key=len, reverse=True):
        if not PLACEHOLDER.search(message):
            continue
        parts = PLACEHOLDER.split(message)  # text, name, text, name, ..., text
        pattern = "".join(
            re.escape(part) if index % 2 == 0 else f"(?P<{part}>.*?)"
            for index, part in enumerate(parts)
        )
        found.append(
            (re.compile(f"^{pattern}$", re.DOTALL), translations(language).gettext(message))
        )
    return found


def translate_text(text: str, messages: Iterable[str], language: str | None = None) -> str:
    """`text` made by the library (a chart label, an error, a diagnosis) in the page's language.

    `messages` are the English templates that text may follow ("{layer} map {index}"): an exact
    message is translated as is; text that fits a template is translated with the template, and
    each value it filled in is translated the same way (it may itself be a message)."""
    language = language or current_language()
    if language == ENGLISH or not text:
        return text
    exact = translations(language).gettext(text)
    if exact != text:
        return exact
    for pattern, translated in _templates(language, tuple(messages)):
        match = pattern.match(text)
        if match:
            values = {
                name: translate_text(value, messages, language)
                for name, value in match.groupdict().items()
            }
            return PLACEHOLDER.sub(
                lambda m, values=values: values.get(m.group(1), m.group(0)), translated
            )
    if PART_SEPARATOR in text:  # a run's name: "sigmoid · SGD · lr 0.01"
        return PART_SEPARATOR.join(
            translate_text(part, messages, language) for part in text.split(PART_SEPARATOR)
        )
    return text


def translate_figure(fig, messages: Iterable[str], language: str | None = None):
    """Translate a Plotly figure's text in place: titles, axis titles, annotations (subplot
    titles), trace names, legend group titles, hover templates and colour bar titles."""
    messages, language = tuple(messages), language or current_language()
    if language == ENGLISH:
        return fig

    def tr(value):
        return translate_text(value, messages, language) if isinstance(value, str) else value

    layout = fig.layout
    if layout.title.text:
        layout.title.text = tr(layout.title.text)
    if layout.legend.title.text:
        layout.legend.title.text = tr(layout.legend.title.text)
    for name in layout:
        if name.startswith(("xaxis", "yaxis")) and layout[name].title.text:
            layout[name].title.text = tr(layout[name].title.text)
        if name.startswith("coloraxis") and layout[name].colorbar.title.text:
            layout[name].colorbar.title.text = tr(layout[name].colorbar.title.text)
    for annotation in layout.annotations:
        annotation.text = tr(annotation.text)
    for trace in fig.data:
        for attribute in ("name", "hovertemplate", "legendgrouptitle"):
            if attribute not in trace:
                continue
            if attribute == "legendgrouptitle":
                if trace.legendgrouptitle.text:
                    trace.legendgrouptitle.text = tr(trace.legendgrouptitle.text)
            elif isinstance(trace[attribute], str):
                trace[attribute] = tr(trace[attribute])
        if "colorbar" in trace and trace.colorbar.title.text:
            trace.colorbar.title.text = tr(trace.colorbar.title.text)
        if "text" in trace and isinstance(trace.text, str):
            trace.text = tr(trace.text)
    return fig


# ------------------------------------------------------------------ Streamlit's own words


def file_uploader(label: str, types: list[str], key: str):
    """`st.file_uploader` with Streamlit's own words on it ("Upload", "200MB per file • PNG")
    in the page's language. Streamlit translates none of its widgets, so for Chinese a style
    rule hides its English (visibility, so neither screen readers nor `innerText` read it) and
    shows the translation in its place."""
    if current_language() != ENGLISH:
        where = f".st-key-{key} [data-testid=stFileUploaderDropzone]"
        limit = _("{size} MB per file • {kinds}").format(
            size=st.get_option("server.maxUploadSize"), kinds=", ".join(t.upper() for t in types)
        )
        upload = _("Upload")
        hidden = "visibility: hidden; font-size: 0;"
        shown = "visibility: visible; font-size: 0.875rem;"
        st.html(
            "<style>"
            f"{where} button p, {where} [data-testid=stFileUploaderDropzoneInstructions] span"
            f" {{ {hidden} }}"
            f'{where} button p::after {{ content: "{upload}"; {shown} font-size: 1rem; }}'
            f"{where} [data-testid=stFileUploaderDropzoneInstructions] span::after"
            f' {{ content: "{limit}"; {shown} }}'
            "</style>"
        )
    return st.file_uploader(label, type=types, key=key)
