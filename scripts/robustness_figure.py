"""The README's robustness curves: `python scripts/robustness_figure.py [CHECKPOINT...]`.

Computes `lenet_viz.robustness` curves (the numbers `lenet-viz robustness CHECKPOINT --json`
prints) for the shipped modern and faithful nets, or the checkpoints given, draws them with the
Robustness page's figure builder, renders the figure to docs/robustness.png in Debian's
Chromium (Plotly writes no PNG without kaleido, which is not a dependency), and prints the
README's Markdown table.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

OUTPUT = REPO / "docs" / "robustness.png"
CHROMIUM = Path("/usr/bin/chromium")
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
    from lenet_viz.checkpoints import load_checkpoint
    from lenet_viz.robustness import robustness_curves

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


def render_png(figure, path: Path) -> None:
    from playwright.sync_api import sync_playwright

    figure.update_layout(width=WIDTH, paper_bgcolor="white")
    with tempfile.TemporaryDirectory() as folder:
        html = Path(folder) / "figure.html"
        figure.write_html(html, include_plotlyjs=True, full_html=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox"]
            )
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
    from lenet_viz.checkpoints import DEFAULT_CHECKPOINT_NAMES, REPO_CHECKPOINT_DIR
    from lenet_viz.figures.explain import robustness_figure

    paths = [Path(arg) for arg in argv] or [
        REPO_CHECKPOINT_DIR / name for name in DEFAULT_CHECKPOINT_NAMES.values()
    ]
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        print(f"error: no checkpoint at {', '.join(missing)}", file=sys.stderr)
        return 2
    if not CHROMIUM.exists():
        print(f"error: Debian's chromium is missing at {CHROMIUM}: run `make browser`")
        return 2
    results = curves_of(paths)
    render_png(robustness_figure(results), OUTPUT)
    first = next(iter(results.values()))
    print(f"wrote {OUTPUT.relative_to(REPO)} ({first['digits']:,} digits, {first['source']})")
    print(markdown_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
