"""Every Plotly chart of the pages, with a text alternative for screen readers.

`st.plotly_chart` draws an SVG that a screen reader cannot read; its `alt` gives the chart's
element an accessible name. The name is the figure's own title, or its subplots' titles, so it
is written once, in the figure (and follows it when a live chart changes)."""

from __future__ import annotations

import plotly.graph_objects as go

from lenet_viz.figures.live import PreparedFigure
from lenet_viz.figures.svg import figure_markup
from ui.library_text import localized_figure


def chart_alt(figure: go.Figure) -> str:
    """The figure's title, or its subplots' titles joined, or "Chart"."""
    layout = (
        figure.spec["layout"]
        if isinstance(figure, PreparedFigure)
        else figure.layout.to_plotly_json()
    )
    title = (layout.get("title") or {}).get("text")
    if title:
        return _plain(title)
    subplot_titles = [
        _plain(note["text"])
        for note in layout.get("annotations", ())
        if note.get("text") and note.get("xref") == "paper" and note.get("yref") == "paper"
    ]
    return " · ".join(subplot_titles) or "Chart"


def chart(where, figure: go.Figure, alt: str | None = None, **kwargs):
    """`where.plotly_chart(figure, ...)` (where: st or a container) with its text alternative:
    `alt` for a figure without a title, else the figure's titles."""
    shown = localized_figure(figure)
    return where.plotly_chart(shown, alt=alt or chart_alt(shown), **kwargs)


def static_chart(where, figure: go.Figure, alt: str | None = None) -> None:
    """A figure nobody needs to zoom, hover or click, drawn by the page as an SVG
    (`lenet_viz.figures.svg`) instead of by Plotly.js, which a tab takes about a second to load
    and start (issue 22). Translated and named (`alt`, else its titles) as `chart` does."""
    where.markdown(static_chart_svg(figure, alt), unsafe_allow_html=True)


def static_chart_svg(figure: go.Figure, alt: str | None = None, heads: bool = False) -> str:
    """The SVG `static_chart` shows, to cache where the figure is costly to build."""
    shown = localized_figure(figure)
    return figure_markup(shown, alt=alt or chart_alt(shown), heads=heads, css=False)


def live_chart(where, figure: go.Figure, *, running: bool, key: str, config: dict) -> None:
    """A run's curves: while the run goes on (or waits, or is paused), drawn by the page as
    an SVG, each line ending in a dot at its newest value; once it has ended, as a Plotly
    chart (zoom, hover, PNG download). A page that starts a run then shows its first points
    at once: loading Plotly.js held them back 1.3-2 s in a new tab, and redrawing Plotly
    charts at every poll kept a phone busy (issue 22)."""
    if running:
        where.markdown(static_chart_svg(figure, heads=True), unsafe_allow_html=True)
    else:
        chart(where, figure, key=key, config=config)


def _plain(text: str) -> str:
    """Plotly's title markup (<b>, <br>, <i>) as plain text."""
    for tag in ("<b>", "</b>", "<i>", "</i>", "<sub>", "</sub>", "<sup>", "</sup>"):
        text = text.replace(tag, "")
    return text.replace("<br>", " ").strip()
