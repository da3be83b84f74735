"""Issue 14's views: robustness curves, top digits per map, saliency and the invariance explorer.

Targets (issue 14): the robustness curves of a model computed and drawn in under 5 s; the
occlusion map and the input gradient of one digit in under 1 s each.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from lenet_viz.checkpoints.store import CheckpointError, default_checkpoint_path, load_checkpoint
from lenet_viz.explain.invariance import Distortion, explore
from lenet_viz.explain.robustness import SWEEPS, robustness_curves, robustness_digits
from lenet_viz.explain.saliency import input_gradient, occlusion_map
from lenet_viz.explain.top_activations import search_digits, top_activations
from lenet_viz.figures.explain import robustness_figure, saliency_figure
from lenet_viz.nets.build import build_model
from lenet_viz.nets.config import ModelConfig


def _models() -> dict:
    """The shipped nets (untrained ones of the same shape where a checkpoint is missing)."""
    models = {}
    for arch in ("modern", "faithful"):
        try:
            models[arch] = load_checkpoint(default_checkpoint_path(arch)).model
        except (CheckpointError, OSError):
            models[arch] = build_model(ModelConfig(arch=arch), seed=0).eval()
    return models


def _timed(function):
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def measure_explain(
    repeats: int = 20, sweeps: tuple[str, ...] | None = None, search_limit: int | None = None
) -> dict:
    models = _models()
    digits, source = robustness_digits()
    chosen = {name: SWEEPS[name] for name in (sweeps or SWEEPS)}
    points = sum(len(sweep.strengths) for sweep in chosen.values())
    results: dict = {"digits": len(digits), "source": source, "sweep_points": points}
    curves = {}
    for arch, model in models.items():
        cpu_started = time.process_time()
        found, seconds = _timed(lambda m=model: robustness_curves(m, digits, chosen, source))
        curves[arch] = found.to_dict()
        _, figure_seconds = _timed(lambda c=curves[arch]: robustness_figure({"m": c}).to_json())
        results[f"robustness_{arch}_seconds"] = round(seconds + figure_seconds, 3)
        # The cross-check on a busy machine: this process's CPU time (every thread's).
        results[f"robustness_{arch}_cpu_seconds"] = round(time.process_time() - cpu_started, 3)
    _, both_figure = _timed(lambda: robustness_figure(curves).to_json())
    results["robustness_figure_two_models_seconds"] = round(both_figure, 3)

    test, test_source = search_digits()
    test = test.subset(search_limit)
    for arch, model in models.items():
        _, seconds = _timed(lambda m=model: top_activations(m, test.images, source=test_source))
        results[f"top_digits_{arch}_seconds"] = round(seconds, 3)
    results["top_digits_searched"] = len(test)

    images = [test.images[i].numpy() for i in range(repeats)]
    for arch, model in models.items():
        occlusion, gradient, explorer = [], [], []
        for image in images:
            found, seconds = _timed(lambda m=model, x=image: occlusion_map(m, x, patch=10))
            occlusion.append(seconds)
            slope, seconds = _timed(lambda m=model, x=image: input_gradient(m, x))
            gradient.append(seconds)
            drawn = (image / 255.0).astype(np.float32)
            _, figure_seconds = _timed(
                lambda d=drawn, f=found, g=slope: saliency_figure(
                    d, f.probability_drop, g.gradient, "a", "b"
                ).to_json()
            )
            occlusion[-1] += figure_seconds
            move = Distortion(rotation=30, stroke=1, noise=0.2)
            _, seconds = _timed(lambda m=model, x=image, d=move: explore(m, x, d))
            explorer.append(seconds)
        for name, values in (
            ("occlusion", occlusion),
            ("gradient", gradient),
            ("explorer", explorer),
        ):
            results[f"{name}_{arch}_median_ms"] = round(1000 * statistics.median(values), 1)
            results[f"{name}_{arch}_max_ms"] = round(1000 * max(values), 1)
    return results
