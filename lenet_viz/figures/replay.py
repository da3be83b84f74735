"""Pictures of a net at one snapshot, and the loss curve with the replay's marker.

Kernels and maps are drawn as plain RGB arrays (numpy, Pillow): a live view redraws them at
every poll while a run trains, and the CLI writes dozens of them into one GIF, so they must be
cheap. Kernels and maps become coloured pixels enlarged by whole pixels, with no figure
library in between. The colours are the Inside page's: signed values (kernels, tanh maps)
blue (negative) -> white (0) -> red (positive), values that are never negative (ReLU, sigmoid
maps) black -> white, one shared scale per picture. `loss_marker_figure` is the one plotly
figure: the runs' loss curves with a line at the snapshot the replay shows.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import plotly.graph_objects as go
from PIL import Image, ImageDraw, ImageFont

from lenet_viz.figures.smoothing import smoothed_curve
from lenet_viz.figures.style import RUN_COLORS
from lenet_viz.training.replay import InsideView

# Plotly's "RdBu_r" (the Inside page's SIGNED_SCALE), at -1, -0.5, 0, 0.5, 1.
SIGNED_ANCHORS = np.array(
    [[5, 48, 97], [146, 197, 222], [247, 247, 247], [244, 165, 130], [103, 0, 31]],
    dtype=np.float32,
)
BACKGROUND = (255, 255, 255)
INK = (40, 40, 40)
BAR = (31, 78, 121)  # the Inside page's CONNECTED blue
HIGHLIGHT = (255, 127, 14)  # and its orange: the predicted digit, the marker
PANEL = (238, 241, 245)  # the empty part of a probability bar
GAP = 2  # pixels between two tiles
# Screen pixels per value: on a page, where the browser enlarges them further (whole pixels,
# CSS image-rendering: pixelated), and in a CLI frame, drawn at its final size.
PAGE_PIXELS = {"kernels": 8, "C1": 2, "C3": 4}  # a 5x5 kernel 40 px, C1 56 px, C3 40 px
FRAME_PIXELS = {"kernels": 12, "C1": 2, "C3": 5}  # 60, 56 and 50 px: a GIF of ~30 stays small
BARS_SIZE = (280, 176)  # the probabilities picture, width x height
BAR_FONT_SIZE = 17  # its digits and the predicted share: readable where the picture is shrunk


def colorize(stack: np.ndarray, signed: bool | None = None) -> np.ndarray:
    """Images (n, h, w) -> RGB uint8 (n, h, w, 3) on one shared scale.

    signed: None picks it from the values (any negative value: signed).
    """
    values = np.nan_to_num(np.asarray(stack, dtype=np.float32))
    if signed is None:
        signed = bool((values < 0).any())
    if signed:
        bound = max(float(np.abs(values).max()), 1e-6)
        position = (values / bound + 1.0) * 2.0  # -1..1 -> 0..4, the anchors' index
        low = np.clip(np.floor(position).astype(int), 0, 3)
        frac = (position - low)[..., None]
        rgb = SIGNED_ANCHORS[low] * (1 - frac) + SIGNED_ANCHORS[low + 1] * frac
    else:
        top = max(float(values.max()), 1e-6)
        grey = np.clip(values / top, 0.0, 1.0)[..., None] * 255.0
        rgb = np.repeat(grey, 3, axis=-1)
    return np.clip(rgb.round(), 0, 255).astype(np.uint8)


def tile(rgb: np.ndarray, columns: int, pixels: int, gap: int = GAP) -> np.ndarray:
    """RGB images (n, h, w, 3) enlarged `pixels` times (whole pixels, no blur) in a grid."""
    count, height, width, _ = rgb.shape
    columns = max(1, min(columns, count))
    rows = -(-count // columns)
    cell_h, cell_w = height * pixels, width * pixels
    grid = np.full(
        (rows * cell_h + (rows - 1) * gap, columns * cell_w + (columns - 1) * gap, 3),
        BACKGROUND,
        dtype=np.uint8,
    )
    enlarged = rgb.repeat(pixels, axis=1).repeat(pixels, axis=2)
    for index in range(count):
        top, left = (index // columns) * (cell_h + gap), (index % columns) * (cell_w + gap)
        grid[top : top + cell_h, left : left + cell_w] = enlarged[index]
    return grid


def kernels_image(
    kernels: np.ndarray, columns: int = 3, pixels: int = PAGE_PIXELS["kernels"]
) -> np.ndarray:
    """C1's kernels (6, 5, 5), blue weights subtract and red ones add, each on its own scale
    (as ConvNetJS draws filters): one kernel with large weights would wash out the others."""
    rgb = np.stack([colorize(kernel[None], signed=True)[0] for kernel in np.asarray(kernels)])
    return tile(rgb, columns, pixels)


def maps_image(maps: np.ndarray, columns: int, pixels: int) -> np.ndarray:
    """One layer's maps (n, h, w) of one digit, on one scale."""
    return tile(colorize(maps), columns, pixels)


def view_images(view: InsideView, pixels: dict[str, int] = PAGE_PIXELS) -> dict[str, np.ndarray]:
    """The pictures of a snapshot: "kernels" (3x2), "C1" (3x2) and "C3" (4x4) maps, and the
    "prediction": ten probability bars."""
    return {
        "kernels": kernels_image(view.kernels, pixels=pixels["kernels"]),
        "C1": maps_image(view.c1, 3, pixels["C1"]),
        "C3": maps_image(view.c3, 4, pixels["C3"]),
        "prediction": probabilities_image(view),
    }


def probabilities_image(view: InsideView, size: tuple[int, int] = BARS_SIZE) -> np.ndarray:
    """The ten probabilities as bars (the predicted digit orange, its share written above)."""
    canvas = Image.new("RGB", size, BACKGROUND)
    _bars(ImageDraw.Draw(canvas), view, (0, BAR_FONT_SIZE + 6, size[0], size[1]), BAR_FONT_SIZE)
    return np.asarray(canvas)


def png_bytes(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG", optimize=False, compress_level=1)
    return buffer.getvalue()


# ------------------------------------------------------------------ frames for the CLI


@lru_cache(maxsize=8)
def label_font(size: int) -> ImageFont.ImageFont:
    """Pillow's own font at `size` px (no font file to find on the machine)."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _paste(canvas: Image.Image, rgb: np.ndarray, left: int, top: int) -> int:
    """Paste an RGB array; return the x just right of it."""
    canvas.paste(Image.fromarray(rgb), (left, top))
    return left + rgb.shape[1]


def _bars(
    draw: ImageDraw.ImageDraw,
    view: InsideView,
    box: tuple[int, int, int, int],
    font_size: int = 13,
) -> None:
    """The ten probabilities as bars from 0 to 100%, the predicted digit in orange with its
    share above it, the digits underneath."""
    left, top, right, bottom = box
    font = label_font(font_size)
    slot = (right - left) / 10
    base = bottom - font_size - 5
    for digit, probability in enumerate(np.nan_to_num(view.probabilities)):
        x0 = left + digit * slot + 2
        height = float(probability) * (base - top)
        color = HIGHLIGHT if digit == view.prediction else BAR
        draw.rectangle([x0, top, x0 + slot - 4, base], fill=PANEL)  # the room up to 100%
        draw.rectangle([x0, base - height, x0 + slot - 4, base], fill=color)
        _centred_text(draw, (x0 + slot / 2 - 1, base + 2), str(digit), font, "mt")
        if digit == view.prediction:
            share = f"{float(probability):.0%}"
            _centred_text(draw, (x0 + slot / 2 - 1, top - 2), share, font, "mb")


def _centred_text(draw: ImageDraw.ImageDraw, xy, text: str, font, anchor: str) -> None:
    """Text centred on x, its top ("mt") or bottom ("mb") at y."""
    try:
        draw.text(xy, text, fill=INK, font=font, anchor=anchor)
    except ValueError:  # the bitmap fallback font has no anchors
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        y = xy[1] if anchor == "mt" else xy[1] - (bottom - top)
        draw.text((xy[0] - (right - left) / 2, y), text, fill=INK, font=font)


def _curve(
    draw: ImageDraw.ImageDraw,
    iterations: np.ndarray,
    losses: np.ndarray,
    marker: int,
    box: tuple[int, int, int, int],
) -> None:
    """The loss curve with a vertical marker at iteration `marker`."""
    left, top, right, bottom = box
    draw.rectangle(box, outline=(200, 200, 200))
    finite = np.isfinite(losses)
    if finite.sum() < 2:
        return
    xs, ys = smoothed_curve(np.asarray(iterations, float)[finite], losses[finite].tolist())
    x_span = max(xs.max() - xs.min(), 1.0)
    y_low, y_high = float(ys.min()), float(ys.max())
    y_span = max(y_high - y_low, 1e-9)

    def point(x: float, y: float) -> tuple[float, float]:
        return (
            left + 4 + (x - xs.min()) / x_span * (right - left - 8),
            bottom - 4 - (y - y_low) / y_span * (bottom - top - 8),
        )

    draw.line([point(x, y) for x, y in zip(xs, ys, strict=True)], fill=BAR, width=1)
    marker_x = point(min(max(marker, xs.min()), xs.max()), y_low)[0]
    draw.line([(marker_x, top + 1), (marker_x, bottom - 1)], fill=HIGHLIGHT, width=2)


def frame(
    view: InsideView,
    title: str,
    curve: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """One replay frame: a title line, then C1's kernels, the digit's C1 and C3 maps, its
    prediction and (if given) the loss curve with a marker at this snapshot."""
    images = view_images(view, FRAME_PIXELS)
    images.pop("prediction")  # drawn into the frame below, at the frame's height
    pad, label_h = 12, 20
    height = max(image.shape[0] for image in images.values()) + label_h + 2 * pad + 24
    bars_w, curve_w = 190, 220 if curve is not None else 0
    width = (
        pad
        + sum(image.shape[1] + pad for image in images.values())
        + bars_w
        + pad
        + (curve_w + pad if curve is not None else 0)
    )
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    draw.text((pad, 6), title, fill=INK, font=label_font(15))
    top = 24 + label_h
    x = pad
    labels = {"kernels": "C1 kernels", "C1": "C1 maps", "C3": "C3 maps"}
    for name, image in images.items():
        draw.text((x, top - label_h + 2), labels[name], fill=INK, font=label_font(13))
        x = _paste(canvas, image, x, top) + pad
    draw.text((x, top - label_h + 2), f"predicts {view.prediction}", fill=INK, font=label_font(13))
    _bars(draw, view, (x, top + 16, x + bars_w, height - pad))
    x += bars_w + pad
    if curve is not None:
        draw.text((x, top - label_h + 2), "training loss", fill=INK, font=label_font(13))
        _curve(draw, curve[0], curve[1], view.iteration, (x, top, x + curve_w, height - pad))
    return np.asarray(canvas)


def frame_title(run_name: str, view: InsideView) -> str:
    loss = "" if view.loss is None else f" · loss {view.loss:.3f}"
    return f"{run_name} · iteration {view.iteration:,} · epoch {view.epoch:.2f}{loss}"


def animated_gif(frames: Sequence[np.ndarray], frame_ms: int = 350, last_ms: int = 2000) -> bytes:
    """Frames (same size) as a looping GIF; the last one stays longer.

    One 128-colour palette for every frame, without dithering: the parts that do not change
    from frame to frame then stay byte-identical, and the file is a fraction of per-frame
    palettes' (for 31 frames of a replay, about 190 KB instead of 900 KB).
    """
    sample = np.concatenate(list(frames[:: max(1, len(frames) // 8)]), axis=0)
    palette = Image.fromarray(sample).quantize(colors=128, dither=Image.Dither.NONE)
    images = [
        Image.fromarray(f).quantize(palette=palette, dither=Image.Dither.NONE) for f in frames
    ]
    durations = [frame_ms] * (len(images) - 1) + [last_ms]
    buffer = io.BytesIO()
    images[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=durations,
        loop=0,
    )
    return buffer.getvalue()


def grid_png(frames: Sequence[np.ndarray]) -> bytes:
    """Frames stacked top to bottom (widths padded to the widest) as one PNG."""
    width = max(f.shape[1] for f in frames)
    rows = [
        np.pad(f, ((0, 0), (0, width - f.shape[1]), (0, 0)), constant_values=255) for f in frames
    ]
    return png_bytes(np.concatenate(rows, axis=0))


# ------------------------------------------------------------------ the loss curve and the marker


def loss_marker_figure(
    curves: Sequence[tuple[str, Sequence[float], Sequence[float]]],
    markers: Sequence[float],
    *,
    x_title: str = "iteration (batches)",
    height: int = 240,
) -> go.Figure:
    """Each run's smoothed training loss, a vertical line where the replay is, and a dot on
    each curve at its own snapshot.

    curves: (run name, x values, losses) per run. markers: each run's snapshot, in x units.
    """
    fig = go.Figure()
    for index, ((name, xs, losses), marker) in enumerate(zip(curves, markers, strict=True)):
        color = RUN_COLORS[index % len(RUN_COLORS)]
        smooth_x, smooth_y = smoothed_curve(np.asarray(xs, dtype=float), list(losses))
        fig.add_trace(
            go.Scatter(
                x=smooth_x,
                y=smooth_y,
                mode="lines",
                line=dict(color=color, width=3),
                name=name,
                hovertemplate="%{y:.3f}<extra></extra>",
            )
        )
        if len(smooth_x):
            at = float(np.interp(marker, smooth_x, smooth_y))
            fig.add_trace(
                go.Scatter(
                    x=[marker],
                    y=[at],
                    mode="markers",
                    marker=dict(color=color, size=12, line=dict(color="white", width=2)),
                    showlegend=False,
                    hovertemplate=f"{name}: %{{y:.3f}} at the snapshot<extra></extra>",
                )
            )
    if markers:
        fig.add_vline(x=max(markers), line=dict(color="#ff7f0e", width=2, dash="dot"))
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=30, b=10),
        template="plotly_white",
        font=dict(size=14),
        xaxis_title=x_title,
        yaxis_title="training loss (smoothed)",
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="right", x=1),
        showlegend=len(curves) > 1,
    )
    return fig
