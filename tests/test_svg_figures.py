"""The static figures drawn as SVG (lenet_viz.figures.svg): what the Plotly figure holds is in
the drawing, its text escaped, and the drawing named for screen readers."""

from __future__ import annotations

from xml.etree import ElementTree

import numpy as np
import plotly.graph_objects as go

from lenet_viz.figures.architecture import architecture_figure
from lenet_viz.figures.inside import vector_figure
from lenet_viz.figures.svg import figure_svg
from lenet_viz.nets.build import build_model
from lenet_viz.nets.config import ModelConfig

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)  # well-formed XML, or this raises


def texts(root: ElementTree.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def x_labels(root: ElementTree.Element) -> list[str]:
    """The x axis's labels: centred (the y axis's are right-aligned)."""
    return [
        "".join(t.itertext())
        for t in root.iter(f"{SVG}text")
        if t.get("text-anchor") == "middle" and "".join(t.itertext()).isdigit()
    ]


def test_the_architecture_diagram_keeps_every_block_label_and_arrow():
    info = build_model(ModelConfig(arch="faithful")).info()
    figure = architecture_figure(info)
    root = parse(figure_svg(figure, alt="Faithful LeNet-5"))
    assert root.get("role") == "img" and root.get("aria-label") == "Faithful LeNet-5"
    assert root.find(f"{SVG}title").text == "Faithful LeNet-5"
    shown = " ".join(texts(root))
    for layer in info["layers"]:
        assert layer["name"] in shown
        assert f"{layer['params']:,} params" in shown
    assert "16@10x10" in shown and "Gaussian (RBF)" in shown
    rects = root.findall(f"{SVG}rect")
    assert len(rects) == len(figure.layout.shapes)
    fills = {rect.get("fill") for rect in rects}
    assert {shape.fillcolor for shape in figure.layout.shapes} == fills
    assert len(root.findall(f"{SVG}polygon")) == len(info["layers"])  # an arrow between each
    bold = [t.text for t in root.iter(f"{SVG}tspan") if t.get("font-weight") == "bold"]
    assert bold[:2] == ["input", "C1"]  # <b> markup as bold text
    italic = [t.text for t in root.iter(f"{SVG}tspan") if t.get("font-style") == "italic"]
    assert "156 params" in italic


def test_text_and_the_name_are_escaped():
    figure = go.Figure()
    figure.add_annotation(x=0.5, y=0.5, text="a < b & <b>c > d</b>", showarrow=False)
    figure.update_layout(title_text='"quoted" & <i>more</i>')
    svg = figure_svg(figure, alt='<script>alert("x")</script> & co')
    root = parse(svg)
    assert "<script>" not in svg
    assert root.get("aria-label") == '<script>alert("x")</script> & co'
    shown = texts(root)
    assert "a < b & c > d" in shown and '"quoted" & more' in shown


def test_bars_keep_every_value_its_colour_and_its_hover_text():
    values = np.array([0.5, -1.25, 2.0, 0.0, 1.0, -0.5, 0.25, 0.75, -2.0, 1.5])
    figure = vector_figure(
        values, "Output: 10 scores", labels=[str(d) for d in range(10)], highlight=2
    )
    root = parse(figure_svg(figure, alt="the output"))
    bars = [rect for rect in root.iter(f"{SVG}rect") if rect.find(f"{SVG}title") is not None]
    assert len(bars) == 10
    tips = [bar.find(f"{SVG}title").text for bar in bars]
    assert tips[1] == "unit 1: -1.250" and tips[2] == "unit 2: 2.000"
    colors = [bar.get("fill") for bar in bars]
    assert colors[2] != colors[0] and len(set(colors)) == 2  # the highlighted unit stands out
    heights = [float(bar.get("height")) for bar in bars]
    assert heights[2] == max(heights) and heights[8] == max(heights)  # |2.0| both
    shown = texts(root)
    assert "Output: 10 scores" in shown and "activation" in shown  # title, y title
    assert x_labels(root) == [str(d) for d in range(10)]


def test_a_long_vector_labels_a_few_units_only():
    root = parse(figure_svg(vector_figure(np.linspace(-1, 1, 120), "C5: 120 units"), alt="C5"))
    bars = [rect for rect in root.iter(f"{SVG}rect") if rect.find(f"{SVG}title") is not None]
    assert len(bars) == 120
    labels = x_labels(root)
    assert labels[:3] == ["0", "5", "10"] and "115" in labels and len(labels) <= 25


def test_a_strip_of_digits_is_one_picture_with_its_labels():
    import base64
    import io

    from PIL import Image

    from lenet_viz.figures.explain import digit_strip_figure

    digits = np.zeros((3, 28, 28), dtype=np.float32)
    digits[:, 10:18, 12:16] = 1.0
    figure = digit_strip_figure([("rotation", digits, ["-30", "0", "30"])])
    root = parse(figure_svg(figure, alt="one digit turned"))
    (picture,) = root.findall(f"{SVG}image")
    data = picture.get("href").removeprefix("data:image/png;base64,")
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(data))))
    assert pixels.shape[:2] == figure.data[0].z.shape and pixels.shape[2] == 4
    ink = pixels[12 + 14, 14]  # the strip starts 12 rows down, under its title
    assert ink[:3].tolist() == [255, 255, 255] and ink[3] == 255
    assert pixels[0, 0, 3] == 0  # no digit there (NaN): transparent
    width, height = float(picture.get("width")), float(picture.get("height"))
    rows, columns = pixels.shape[:2]
    assert abs(width / height - columns / rows) < 0.01  # square pixels
    assert {"rotation", "-30", "0", "30"} <= set(texts(root))


# ------------------------------------------------------------------ lines in a grid of subplots


def robustness_results(first: str, second: str) -> dict[str, dict]:
    """Two models' curves: the first's accuracy 0.9 everywhere but 0.6 at rotation 20, the
    second's 0.3 lower."""
    from lenet_viz.explain.robustness import SWEEPS

    def curves(accuracy: float) -> dict:
        out = {}
        for name, sweep in SWEEPS.items():
            values = [accuracy] * len(sweep.strengths)
            if name == "rotation":
                values[list(sweep.strengths).index(20)] = accuracy - 0.3
            out[name] = {
                "label": sweep.label,
                "strengths": list(sweep.strengths),
                "accuracy": values,
            }
        return out

    return {
        first: {"clean_accuracy": 0.9, "curves": curves(0.9)},
        second: {"clean_accuracy": 0.6, "curves": curves(0.6)},
    }


def polyline_points(polyline: ElementTree.Element) -> list[tuple[float, float]]:
    return [tuple(float(v) for v in p.split(",")) for p in polyline.get("points").split()]


def test_robustness_curves_draw_each_line_in_its_subplot():
    from lenet_viz.figures.explain import robustness_figure

    figure = robustness_figure(robustness_results("net <A> & co", "net B"))
    svg = figure_svg(figure, alt="curves")
    root = parse(svg)
    lines = root.findall(f"{SVG}polyline")
    assert len(lines) == len(figure.data) == 12  # one per trace: 2 models x 6 transforms
    # Each subplot's title is centred over its area, on top of it (rows 300 px apart).
    titles = {}
    for text in root.iter(f"{SVG}text"):
        (span,) = text.findall(f"{SVG}tspan") or [None]
        if span is not None and text.get("text-anchor") == "middle":
            titles["".join(text.itertext())] = (float(span.get("x")), float(span.get("y")))
    subplot_titles = [note.text for note in figure.layout.annotations]
    assert len(subplot_titles) == 6 and "squeeze (taller and narrower > 0)" in titles
    for trace, line in zip(figure.data, lines, strict=True):
        axis = int(trace.xaxis[1:] or 1)
        title_x, title_y = titles[subplot_titles[axis - 1]]
        points = polyline_points(line)
        assert len(points) == len(trace.x)
        xs, ys = [x for x, _ in points], [y for _, y in points]
        assert min(xs) < title_x < max(xs)  # under its own title...
        assert max(abs(x - title_x) for x in xs) < 1000 / 3 / 2  # ...within its column
        assert all(title_y < y < title_y + 300 for y in ys)  # ...and its row
    rotation_a, rotation_b = (polyline_points(lines[i]) for i in (0, 6))
    assert rotation_a[0][1] < rotation_b[0][1]  # 0.9 drawn above 0.6, on one scale
    dip = list(figure.data[0].x).index(20)
    assert rotation_a[dip][1] > rotation_a[0][1]  # the dip at 20 degrees goes down
    assert rotation_a[dip][1] == rotation_b[0][1]  # to 0.6, the level of the second's


def test_robustness_curves_keep_the_legend_percent_ticks_and_hover_texts():
    from lenet_viz.figures.explain import robustness_figure

    figure = robustness_figure(robustness_results("net <A> & co", "net B"))
    svg = figure_svg(figure, alt="curves")
    assert "net <A>" not in svg and "net &lt;A&gt; &amp; co" in svg  # escaped
    root = parse(svg)
    legend = root.find(f"{SVG}g[@class='legend']")
    names = ["".join(t.itertext()) for t in legend.iter(f"{SVG}text")]
    assert names == ["net <A> & co", "net B"]  # one entry per model, not per subplot
    colors = [line.get("stroke") for line in legend.iter(f"{SVG}line")]
    assert colors == [line.get("stroke") for line in root.findall(f"{SVG}polyline")[::6]]
    shown = texts(root)
    assert {"0%", "50%", "100%"} <= set(shown)  # tickformat ".0%"
    assert shown.count("accuracy") == 2  # the y title of each row's first subplot
    assert {"-50", "0", "50"} <= set(shown)  # the rotation's plain numbers
    markers = [c for c in root.iter(f"{SVG}circle") if c.find(f"{SVG}title") is not None]
    assert len(markers) == sum(len(trace.x) for trace in figure.data)
    tips = [marker.find(f"{SVG}title").text for marker in markers]
    assert "net <A> & co\n20: 60.0%" in tips and "net B\n-60: 60.0%" in tips


def test_a_plain_line_gets_its_axes_from_its_data():
    figure = go.Figure(go.Scatter(x=[1, 2, 3, 4], y=[10.0, 40.0, 20.0, 30.0], mode="lines"))
    figure.update_layout(xaxis_title_text="epoch", yaxis_title_text="loss & more")
    root = parse(figure_svg(figure, alt="a line"))
    (line,) = root.findall(f"{SVG}polyline")
    points = polyline_points(line)
    assert len(points) == 4 and not root.findall(f"{SVG}circle")  # lines only, no markers
    assert [x for x, _ in points] == sorted(x for x, _ in points)
    ys = [y for _, y in points]
    assert ys[1] == min(ys) and ys[0] == max(ys)  # 40 highest, 10 lowest
    shown = texts(root)
    assert {"epoch", "loss & more", "10", "20", "30", "40"} <= set(shown)
    assert root.find(f"{SVG}g[@class='legend']") is None  # one trace: no legend, as Plotly


def history(c1: float, output: float, count: int = 40):
    """A run's records: loss and accuracy, and the C1 and output gradient norms (constant)."""
    from lenet_viz.training.history import History

    steps = list(range(1, count + 1))
    return History(
        iteration=steps,
        epoch_float=[s / count for s in steps],
        loss=[2.3 - s / count for s in steps],
        accuracy=[0.1 + 0.8 * s / count for s in steps],  # a fraction, as a run records it
        lr=[0.01] * count,
        grad_norm={"C1": [c1] * count, "C3": [c1 * 10] * count, "output": [output] * count},
    )


def test_live_curves_share_a_log_axis_and_keep_their_dashes_and_heads():
    """The Compare page's gradient norms, as a running run draws them (ui.charts.live_chart):
    one log scale for both panels, labelled in powers of ten, the layers' dashes, and a dot
    at each line's newest value. A PreparedFigure (the live view's) draws the same."""
    from lenet_viz.figures.comparison import gradient_norm_figure
    from lenet_viz.figures.live import PreparedFigure

    figure = gradient_norm_figure([("sigmoid", history(1e-4, 1.0)), ("relu", history(1e-2, 1.0))])
    svg = figure_svg(figure, alt="norms", heads=True)
    assert svg == figure_svg(PreparedFigure(figure), alt="norms", heads=True)
    root = parse(svg)
    lines = root.findall(f"{SVG}polyline")
    assert len(lines) == 6  # 3 layers x 2 runs
    heights = [polyline_points(line)[-1][1] for line in lines]
    sigmoid_c1, sigmoid_output, relu_c1, relu_output = (heights[i] for i in (0, 2, 3, 5))
    assert sigmoid_output == relu_output  # 1.0 in both panels: one shared scale
    assert sigmoid_c1 > relu_c1 > relu_output  # 1e-4 under 1e-2 under 1 (y grows downwards)
    # four decades: the C1 line of sigmoid is twice as far below 1.0 as relu's
    assert abs((sigmoid_c1 - sigmoid_output) - 2 * (relu_c1 - relu_output)) <= 1
    labels = [t for t in texts(root) if t.startswith("10") and t != "10"]  # not x ticks
    assert {"10⁻⁴", "10⁻²", "10⁰"} <= set(labels)
    assert len(labels) == len(set(labels))  # the second panel's shared axis has no labels
    dashed = {line.get("stroke-dasharray") for line in lines}
    assert None in dashed and len(dashed) == 2  # C1 and output solid, C3 dashed
    heads = root.findall(f"{SVG}circle[@class='curve-head']")
    assert len(heads) == 6
    tips = [line.find(f"{SVG}title").text for line in lines]
    assert tips[0] == "C1: 1.00e-04"  # the hover text of the newest point, which names it
    assert not parse(figure_svg(figure, alt="norms")).findall(f"{SVG}circle")


def test_live_curves_fade_each_batch_and_draw_the_first_point():
    """Train's loss and accuracy: the faint line of each batch under the bold smoothed one,
    and from the first batch on a visible point (the smoothed line's head)."""
    from lenet_viz.figures.training import iteration_figure

    root = parse(figure_svg(iteration_figure(history(1e-3, 1.0)), alt="curves", heads=True))
    faint = [line for line in root.findall(f"{SVG}polyline") if line.get("stroke-opacity")]
    assert len(faint) == 2 and all(line.find(f"{SVG}title") is None for line in faint)
    first = parse(figure_svg(iteration_figure(history(1e-3, 1.0, 1)), alt="c", heads=True))
    assert len(first.findall(f"{SVG}circle[@class='curve-head']")) == 2  # loss, accuracy


# ------------------------------------------------------- line charts that fit their column


def fluid(figure, heads: bool = False) -> ElementTree.Element:
    """The figure as the page shows it (`figure_markup`), parsed: it must be well-formed."""
    from lenet_viz.figures.svg import figure_markup

    return parse(figure_markup(figure, alt="the <curves>", heads=heads))


def with_class(root: ElementTree.Element, name: str) -> list[ElementTree.Element]:
    return [e for e in root.iter() if name in (e.get("class") or "").split()]


def text_of(element: ElementTree.Element) -> str:
    return "".join(element.itertext())


def test_line_charts_fit_their_column_with_text_at_its_own_size():
    """A line chart is boxes of the page, not one drawing scaled to the column (whose 1000-unit
    text was 5 px tall in a 340-px column): a grid of subplots that stacks into one column
    below 220 px per subplot, the lines stretched to each box with strokes of their own
    width, and every text HTML at a size in px."""
    from lenet_viz.figures.svg.fluid import CELL_MIN_WIDTH, STYLE
    from lenet_viz.figures.training import iteration_figure

    root = fluid(iteration_figure(history(1e-3, 1.0)), heads=True)
    assert root.tag == "div" and root.get("role") == "img"
    assert root.get("aria-label") == "the <curves>"  # escaped, then read back
    (style,) = root.iter("style")
    assert style.text.startswith(STYLE) and "font-size:13px" in STYLE
    assert f"@container (max-width:{2 * CELL_MIN_WIDTH}px)" in style.text
    grid = with_class(root, "ff-grid")[0]
    assert "repeat(2," in grid.get("style")
    cells = with_class(root, "ff-cell")
    assert [c.get("style") for c in cells] == [
        "grid-row:1;grid-column:1",
        "grid-row:1;grid-column:2",
    ]
    titles = [text_of(t) for t in with_class(root, "ff-sub")]
    assert titles == ["Loss per batch", "Accuracy per batch (%)"]
    assert [text_of(t) for t in with_class(root, "ff-xtitle")] == ["iteration (batches)"] * 2
    for cell in cells:
        (svg,) = cell.iter(f"{SVG}svg")
        assert svg.get("preserveAspectRatio") == "none" and svg.get("viewBox") == "0 0 1000 1000"
        lines = svg.findall(f"{SVG}polyline")
        assert len(lines) == 2  # the faint batches under the bold smoothed line
        assert all(line.get("vector-effect") == "non-scaling-stroke" for line in lines)
        for line in lines:
            assert all(0 <= x <= 1000 and 0 <= y <= 1000 for x, y in polyline_points(line))
        (head,) = with_class(cell, "curve-head")  # the newest value's dot, in percents
        newest_x, newest_y = polyline_points(lines[1])[-1]
        left, top = (float(v.split(":")[1][:-1]) for v in head.get("style").split(";")[:2])
        assert abs(left * 10 - newest_x) <= 1 and abs(top * 10 - newest_y) <= 1
    loss = polyline_points(cells[0].findall(f".//{SVG}polyline")[1])
    assert loss[0][1] < loss[-1][1]  # the loss falls: its line goes down the box
    assert loss[0][0] < 50 and loss[-1][0] > 950  # from the first iteration to the newest
    y_ticks = [text_of(t) for t in with_class(cells[1], "ff-yt")]
    assert y_ticks == ["0", "20", "40", "60", "80", "100"]  # the accuracy axis's fixed range
    tops = [
        float(t.get("style").removeprefix("top:").removesuffix("%"))
        for t in with_class(cells[1], "ff-yt")
    ]
    assert tops == [100, 80, 60, 40, 20, 0]


def test_shared_axes_keep_their_hidden_labels_for_when_the_subplots_stack():
    """The gradient norms share one log axis across a row: the second panel's labels are
    hidden beside the first, and shown once the panels stack; the legend wraps like text."""
    from lenet_viz.figures.comparison import gradient_norm_figure

    runs = [("sigmoid & co", history(1e-4, 1.0)), ("relu", history(1e-2, 1.0))]
    root = fluid(gradient_norm_figure(runs), heads=True)
    first, second = with_class(root, "ff-cell")
    assert "ff-noy" not in first.get("class") and "ff-noy" in second.get("class")
    hidden = [t for t in with_class(second, "ff-yt") if "ff-hidden" in t.get("class")]
    shown = [t for t in with_class(first, "ff-yt") if "ff-hidden" not in t.get("class")]
    assert [text_of(t) for t in hidden] == [text_of(t) for t in shown]
    assert {"10⁻⁴", "10⁻²", "10⁰"} <= {text_of(t) for t in shown}
    (style,) = root.iter("style")
    assert ".ff-c2 .ff-hidden{display:block!important}" in style.text
    assert [text_of(t) for t in with_class(root, "ff-sub")] == ["sigmoid & co", "relu"]
    legend = with_class(root, "legend")[0]
    assert [text_of(key) for key in with_class(legend, "ff-key")] == ["C1", "C3", "output"]
    assert len(with_class(root, "curve-head")) == 6  # 3 layers x 2 runs
    dashed = {line.get("stroke-dasharray") for line in root.iter(f"{SVG}polyline")}
    assert None in dashed and len(dashed) == 2  # C1 and output solid, C3 dashed
    tips = [line.find(f"{SVG}title").text for line in root.iter(f"{SVG}polyline")]
    assert tips[0] == "C1: 1.00e-04"  # the newest value, as the SVG's


def test_stacked_small_multiples_keep_each_run_together_and_the_others_read_by_rows():
    from lenet_viz.figures.comparison import small_multiples_figure
    from lenet_viz.figures.explain import robustness_figure

    runs = [(name, history(1e-3, 1.0)) for name in ("one", "two", "three")]
    cells = with_class(fluid(small_multiples_figure(runs)), "ff-cell")
    places = [c.get("style") for c in cells]
    assert places[:2] == ["grid-row:1;grid-column:1", "grid-row:2;grid-column:1"]
    assert places[2] == "grid-row:1;grid-column:2"  # the first run's loss, its accuracy, ...
    root = fluid(robustness_figure(robustness_results("net <A>", "net B")))
    cells = with_class(root, "ff-cell")
    assert [c.get("style") for c in cells[:4]] == [
        "grid-row:1;grid-column:1",
        "grid-row:1;grid-column:2",
        "grid-row:1;grid-column:3",
        "grid-row:2;grid-column:1",
    ]
    markers = with_class(root, "marker")
    assert len(markers) == 2 * sum(
        len(s["strengths"]) for s in robustness_results("a", "b")["a"]["curves"].values()
    )
    assert "net <A>\n20: 60.0%" in {marker.get("title") for marker in markers}
    assert {"0%", "50%", "100%"} <= {text_of(t) for t in with_class(root, "ff-yt")}


def test_a_note_over_empty_axes_comes_before_the_plots():
    """Plotly's note over the middle of empty axes: over the plots side by side, above them
    once they stack (between two stacked plots it covered their titles)."""
    from lenet_viz.figures.training import epoch_figure
    from lenet_viz.training.history import History

    root = fluid(epoch_figure(History()))
    body = with_class(root, "ff-body")[0]
    note, grid = list(body)
    assert "ff-note" in note.get("class") and "ff-grid" in grid.get("class")
    assert text_of(note) == "Train and test points appear at the end of each epoch."
    assert note.get("style") == "left:50%;top:50%"
    assert "position:static" in root.find("style").text


def test_figures_with_bars_pictures_or_shapes_stay_one_drawing():
    from lenet_viz.figures.svg import figure_markup, figure_svg

    figure = vector_figure(np.linspace(-1, 1, 120), "C5: 120 units")
    assert figure_markup(figure, alt="C5") == figure_svg(figure, alt="C5")
    drawing = architecture_figure(build_model(ModelConfig()).info())
    assert figure_markup(drawing, alt="net").startswith("<svg")


def test_a_page_can_hold_the_rules_of_its_line_charts_once():
    """The pages add `page_css()` once and draw their line charts without a <style>: one in
    each chart is a new style sheet at every poll, and the browser styles the page anew."""
    from lenet_viz.figures.svg import figure_markup
    from lenet_viz.figures.svg.fluid import STYLE, page_css, stacking_rule
    from lenet_viz.figures.training import iteration_figure

    figure = iteration_figure(history(1e-3, 1.0))
    bare = parse(figure_markup(figure, alt="curves", css=False))
    assert bare.find("style") is None and "ff-c2" in bare.get("class")
    assert parse(figure_markup(figure, alt="curves")).find("style").text.startswith(STYLE)
    css = page_css()
    assert css.startswith(STYLE) and all(stacking_rule(n) in css for n in range(1, 7))


def test_a_line_tooltip_names_its_line_once():
    from lenet_viz.figures.svg.marks import line_tip

    assert line_tip("C1", "C1: 1.00e-04") == "C1: 1.00e-04"  # the hover text names it
    assert line_tip("relu", "0.123") == "relu: 0.123"
    assert line_tip("1", "1.5") == "1: 1.5"  # a name that only starts the number
    assert line_tip("", "0.5") == "0.5"
