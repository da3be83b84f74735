"""The README's robustness curves: `python scripts/robustness_figure.py [CHECKPOINT...]`.

Computes `lenet_viz.explain.robustness` curves (the numbers `lenet-viz robustness CHECKPOINT --json`
prints) for the shipped modern and faithful nets, or the checkpoints given, draws them with the
Robustness page's figure builder, renders the figure to docs/robustness.png in Debian's
Chromium (Plotly writes no PNG without kaleido, which is not a dependency), and writes the
README's Markdown table (between its `robustness-table` markers; also printed).

After a new checkpoint ships (e.g. a modern net trained with distortions), name every net the
README should show, e.g.:

    .venv/bin/python scripts/robustness_figure.py checkpoints/lenet5_modern_relu.pt \
        checkpoints/OTHER.pt checkpoints/lenet5_faithful.pt
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from devtools.app_server import chromium_options, chromium_problem  # noqa: E402

OUTPUT = REPO / "docs" / "robustness.png"
README = REPO / "README.md"
TABLE_START = "<!-- robustness-table: written by scripts/robustness_figure.py -->"
TABLE_END = "<!-- /robustness-table -->"
WIDTH = 1200
TABLE_POINTS = {
    "rotation": (-40, -20, 20, 40),
    "shift": (2, 3, 4, 6),
    "scale": (0.6, 0.8, 1.3, 1.5),
    "squeeze": (-0.3, 0.3),
    "stroke": (-1, 1, 2),
    "noise": (0.3, 0.5),
}


def curves_of(paths: list[Path]) -> dict[str, dict]:
    from lenet_viz.checkpoints.store import load_checkpoint
    from lenet_viz.explain.robustness import robustness_curves

    results = {}
    for path in paths:
        loaded = load_checkpoint(path)
        config = loaded.config
        label = f"{path.name} ({config.arch}, {config.activation})"
        results[label] = robustness_curves(loaded.model).to_dict()
        print(f"computed {label}", file=sys.stderr, flush=True)
    return results


def markdown_table(results: dict[str, dict]) -> str:
    from lenet_viz.figures.explain import robustness_table

    labels = list(results)
    lines = [
        "| transform | " + " | ".join(labels) + " |",
        "|---|" + "---|" * len(labels),
        "| none | " + " | ".join(f"{r['clean_accuracy']:.1%}" for r in results.values()) + " |",
    ]
    for name, row in robustness_table(results, TABLE_POINTS).items():
        lines.append(f"| {name} | " + " | ".join(f"{row[label]:.1%}" for label in labels) + " |")
    return "\n".join(lines)


def write_readme_table(table: str, readme: Path = README) -> bool:
    """Put `table` between the README's markers; False when they are missing."""
    text = readme.read_text()
    if TABLE_START not in text or TABLE_END not in text:
        return False
    before, rest = text.split(TABLE_START, 1)
    after = rest.split(TABLE_END, 1)[1]
    readme.write_text(f"{before}{TABLE_START}\n{table}\n{TABLE_END}{after}")
    return True


def render_png(figure, path: Path) -> None:
    from playwright.sync_api import sync_playwright

    figure.update_layout(width=WIDTH, paper_bgcolor="white")
    with tempfile.TemporaryDirectory() as folder:
        html = Path(folder) / "figure.html"
        figure.write_html(html, include_plotlyjs=True, full_html=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(**chromium_options())
            try:
                page = browser.new_page(viewport={"width": WIDTH + 40, "height": 1000})
                page.goto(html.as_uri())
                plot = page.locator(".js-plotly-plot").first
                plot.wait_for()
                path.parent.mkdir(parents=True, exist_ok=True)
                plot.screenshot(path=str(path))
            finally:
                browser.close()


def main(argv: list[str]) -> int:
    from lenet_viz.checkpoints.store import DEFAULT_CHECKPOINT_NAMES, REPO_CHECKPOINT_DIR
    from lenet_viz.figures.explain import robustness_figure

    paths = [Path(arg) for arg in argv] or [
        REPO_CHECKPOINT_DIR / name for name in DEFAULT_CHECKPOINT_NAMES.values()
    ]
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        print(f"error: no checkpoint at {', '.join(missing)}", file=sys.stderr)
        return 2
    problem = chromium_problem()
    if problem:
        print(f"error: cannot draw the figure: {problem}", file=sys.stderr)
        return 2
    results = curves_of(paths)
    render_png(robustness_figure(results), OUTPUT)
    first = next(iter(results.values()))
    print(f"wrote {OUTPUT.relative_to(REPO)} ({first['digits']:,} digits, {first['source']})")
    table = markdown_table(results)
    print(table)
    if write_readme_table(table):
        print(f"wrote the table into {README.relative_to(REPO)}")
    else:
        print(f"the README has no {TABLE_START} marker: paste the table by hand")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
