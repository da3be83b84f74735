"""Inference speed: the full test-set evaluation and the Draw page's draw-to-prediction path."""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch
from PIL import Image, ImageFilter

from lenet_viz.data.datasets import Split, data_available, load_split, sample_digits
from lenet_viz.data.preprocess import prepare_for_model
from lenet_viz.explain.inside import inspect_digit
from lenet_viz.nets.build import build_model
from lenet_viz.nets.config import ModelConfig
from lenet_viz.nets.model import LeNetBase
from lenet_viz.training.loop import cached_inputs, evaluate

CANVAS_SIDE = 280  # the Draw page's canvas


def shipped_or_fresh_model() -> tuple[LeNetBase, str]:
    """The shipped modern checkpoint if there is one, else an untrained net (same speed)."""
    from lenet_viz.checkpoints.store import (
        CheckpointError,
        default_checkpoint_path,
        load_checkpoint,
    )

    try:
        path = default_checkpoint_path("modern")
        return load_checkpoint(path).model, str(path.name)
    except (CheckpointError, OSError):
        return build_model(
            ModelConfig(arch="modern", activation="relu"), seed=0
        ).eval(), "untrained"


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def measure_evaluation(test_limit: int | None = None, repeats: int = 5) -> dict:
    """Seconds for `lenet_viz.training.loop.evaluate` on the test set (10,000 digits by default)."""
    model, source = shipped_or_fresh_model()
    inputs = cached_inputs("mnist", False, model.config.resize, model.config.input_scaling)
    labels = load_split("mnist", train=False).labels
    inputs, labels = inputs[:test_limit], labels[:test_limit]
    evaluate(model, inputs, labels)  # warm-up
    seconds, accuracy = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        _, accuracy, _ = evaluate(model, inputs, labels)
        seconds.append(time.perf_counter() - started)
    return {
        "digits": len(labels),
        "model": source,
        "test_acc": round(accuracy, 4),
        "seconds_median": round(statistics.median(seconds), 4),
        "seconds_min": round(min(seconds), 4),
        "digits_per_second": round(len(labels) / statistics.median(seconds)),
    }


def canvas_drawing(digit28: np.ndarray, top: int = 30, left: int = 95, size: int = 170):
    """An MNIST digit as the canvas returns a drawing: 280x280 RGBA, black ink in the alpha
    channel on a transparent background; enlarged, thickened and placed off-centre."""
    ink = Image.fromarray(np.asarray(digit28, dtype=np.uint8)).resize((size, size))
    ink = ink.filter(ImageFilter.MaxFilter(5))  # a thick pen
    rgba = np.zeros((CANVAS_SIDE, CANVAS_SIDE, 4), dtype=np.uint8)
    rgba[top : top + size, left : left + size, 3] = np.asarray(ink)
    return rgba


def mnist_test_digits() -> Split:
    return load_split("mnist", train=False) if data_available("mnist") else sample_digits()


def drawings(count: int) -> list[np.ndarray]:
    """`count` canvas drawings made from different test digits (all ten classes)."""
    digits = mnist_test_digits()
    return [canvas_drawing(digits.images[i].numpy()) for i in range(count)]


def measure_draw_latency(samples: int = 200, distinct: int = 20) -> dict:
    """Milliseconds from a canvas drawing to the prediction and every layer's maps: the Draw
    page's `prepare_for_model` then `inspect_digit` (forward_layers, probabilities, copies)."""
    model, source = shipped_or_fresh_model()
    canvases = drawings(distinct)
    inspect_digit(model, prepare_for_model(canvases[0], model.config).network_input)  # warm-up
    milliseconds, stages = [], {"preprocess": [], "network": []}
    for i in range(samples):
        started = time.perf_counter()
        digit = prepare_for_model(canvases[i % distinct], model.config)
        prepared = time.perf_counter()
        inspect_digit(model, digit.network_input)
        done = time.perf_counter()
        milliseconds.append(1000 * (done - started))
        stages["preprocess"].append(1000 * (prepared - started))
        stages["network"].append(1000 * (done - prepared))
    return {
        "samples": samples,
        "model": source,
        "threads": torch.get_num_threads(),
        "p50_ms": round(percentile(milliseconds, 50), 2),
        "p95_ms": round(percentile(milliseconds, 95), 2),
        "max_ms": round(max(milliseconds), 2),
        "preprocess_p50_ms": round(percentile(stages["preprocess"], 50), 2),
        "network_p50_ms": round(percentile(stages["network"], 50), 2),
    }
