"""Drawing a template as a hand would (`place_strokes`: random pen, size, slant, turn, position,
wobble) and rendering the strokes as the canvas returns them (`render_canvas`: RGBA, ink in the
alpha channel) or as a photo of ink on paper (`render_photo`). `template_paths`: a template
drawn plainly, for a mouse to follow in the browser test."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from lenet_viz.data.drawn.templates import Template

CANVAS_SIZE = 280  # the Draw page's canvas
PEN_RANGE = (14.0, 24.0)  # canvas pen widths people use, px
HEIGHT_RANGE = (0.35, 0.85)  # digit heights people draw, share of the canvas


@dataclass(frozen=True)
class Placement:
    """How one drawing of a template came out: the pen and where the digit sits."""

    pen: float  # stroke width, px on the 280x280 canvas
    height: float  # digit height, px
    slant: float  # horizontal shear (positive: top to the right)
    rotation: float  # degrees
    centre: tuple[float, float]  # (x, y), px


def _smooth(points: np.ndarray, per_segment: int = 8) -> np.ndarray:
    """A Catmull-Rom curve through the points, as a pen (and Fabric.js's freedraw) makes them."""
    if len(points) < 3:
        steps = np.linspace(0, 1, per_segment * max(1, len(points) - 1) + 1)[:, None]
        return points[0] + steps * (points[-1] - points[0]) if len(points) == 2 else points
    padded = np.vstack([points[0], points, points[-1]])
    out = []
    t = np.linspace(0, 1, per_segment, endpoint=False)[:, None]
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1], padded[i], padded[i + 1], padded[i + 2]
        out.append(
            0.5
            * (
                2 * p1
                + (p2 - p0) * t
                + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                + (3 * p1 - p0 - 3 * p2 + p3) * t**3
            )
        )
    out.append(points[-1:])
    return np.vstack(out)


def place_strokes(
    template: Template,
    rng: np.random.Generator,
    size: int = CANVAS_SIZE,
    pen_range: tuple[float, float] = PEN_RANGE,
    height_range: tuple[float, float] = HEIGHT_RANGE,
) -> tuple[list[np.ndarray], Placement]:
    """The template's strokes as pixel paths on a size x size canvas, drawn as a hand would:
    a random pen width (by default 14-24 px on 280), height (35-85% of the canvas), aspect,
    slant, turn, position (anywhere the digit fits: often off-centre) and a small wobble of
    every point."""
    scale = size / CANVAS_SIZE
    pen = float(rng.uniform(*pen_range)) * scale
    height = float(rng.uniform(*height_range)) * size
    aspect = float(rng.uniform(0.8, 1.25))
    slant = float(rng.uniform(-0.15, 0.35))
    rotation = float(rng.uniform(-10, 10))
    wobble = float(rng.uniform(0.0, 0.02))
    all_points = np.vstack([np.asarray(s) for s in template.strokes])
    middle = (all_points.min(axis=0) + all_points.max(axis=0)) / 2
    angle = math.radians(rotation)
    turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    shear = np.array([[1.0, -slant], [0.0, 1.0]])
    matrix = turn @ shear @ np.diag([height * aspect, height])
    paths = []
    for stroke in template.strokes:
        points = np.asarray(stroke) - middle
        points = points + rng.normal(0.0, wobble, points.shape)
        paths.append(_smooth(points) @ matrix.T)
    every = np.vstack(paths)
    low, high = every.min(axis=0), every.max(axis=0)
    margin = pen / 2 + 2
    free_low = margin - low
    free_high = size - margin - high
    centre = np.array([rng.uniform(free_low[i], max(free_low[i], free_high[i])) for i in range(2)])
    paths = [path + centre for path in paths]
    return paths, Placement(pen, height, slant, rotation, (float(centre[0]), float(centre[1])))


def template_paths(
    template: Template,
    height: float = 200.0,
    centre: tuple[float, float] = (CANVAS_SIZE / 2, CANVAS_SIZE / 2),
    slant: float = 0.0,
    per_segment: int = 4,
) -> list[np.ndarray]:
    """The template drawn plainly (no randomness): its smoothed strokes as pixel paths, for a
    mouse to follow in the browser test."""
    all_points = np.vstack([np.asarray(s) for s in template.strokes])
    middle = (all_points.min(axis=0) + all_points.max(axis=0)) / 2
    matrix = np.array([[1.0, -slant], [0.0, 1.0]]) * height
    return [
        _smooth(np.asarray(s) - middle, per_segment) @ matrix.T + np.asarray(centre)
        for s in template.strokes
    ]


def _draw_paths(paths: list[np.ndarray], pen: float, size: int, supersample: int) -> Image.Image:
    """Round-capped, round-joined strokes: an "L" image, ink 255, anti-aliased by supersampling."""
    big = size * supersample
    image = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(image)
    width = pen * supersample
    radius = width / 2
    for path in paths:
        points = [(float(x) * supersample, float(y) * supersample) for x, y in path]
        if len(points) > 1:
            draw.line(points, fill=255, width=max(1, round(width)))
        for x, y in points:  # round caps and joints between the line's segments
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    if supersample > 1:
        image = image.resize((size, size), Image.Resampling.BOX)
    return image


def render_canvas(
    paths: list[np.ndarray], pen: float, size: int = CANVAS_SIZE, supersample: int = 3
) -> np.ndarray:
    """What the Draw page's pad returns for these strokes: (size, size, 4) uint8 RGBA,
    black ink (#000000) whose coverage is the alpha channel, on a transparent background."""
    alpha = np.asarray(_draw_paths(paths, pen, size, supersample))
    rgba = np.zeros((size, size, 4), dtype=np.uint8)
    rgba[:, :, 3] = alpha
    return rgba


def render_photo(
    paths: list[np.ndarray], pen: float, rng: np.random.Generator, size: int = CANVAS_SIZE
) -> np.ndarray:
    """A photo of the strokes written in ink on paper: (size, size, 3) uint8 RGB, dark ink on
    light, slightly tinted paper with grain, lighting that falls off across the picture, and a
    little blur (focus). The pen is a real pen: thinner than the canvas's."""
    ink = np.asarray(_draw_paths(paths, pen * float(rng.uniform(0.45, 0.8)), size, 3))
    ink = ink.astype(np.float32) / 255
    paper = float(rng.uniform(0.78, 0.95))
    ink_level = float(rng.uniform(0.05, 0.3))
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float32) / size
    direction = rng.uniform(-1, 1, 2)
    lighting = 1.0 + float(rng.uniform(0.02, 0.06)) * (direction[0] * rows + direction[1] * cols)
    grain = rng.normal(0.0, 1.0, (size // 2, size // 2)).astype(np.float32)
    grain = np.asarray(Image.fromarray(grain).resize((size, size), Image.Resampling.BILINEAR))
    grey = (paper * (1 - ink) + ink_level * ink) * lighting + 0.012 * grain
    blurred = Image.fromarray(np.clip(grey * 255, 0, 255).astype(np.uint8))
    blurred = blurred.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.2))))
    tint = np.array([1.0, float(rng.uniform(0.97, 1.0)), float(rng.uniform(0.9, 1.0))])
    rgb = np.asarray(blurred, dtype=np.float32)[:, :, None] * tint
    return np.clip(rgb, 0, 255).astype(np.uint8)
