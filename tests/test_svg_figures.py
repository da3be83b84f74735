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
