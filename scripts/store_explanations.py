"""Compute the shipped checkpoints' robustness curves and top digits once, and keep them in
checkpoints/explanations.json (`lenet_viz.explain.stored`). Run it after a shipped checkpoint
changes: `python scripts/store_explanations.py` (tests/test_stored_explanations.py says so when
the file is stale).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lenet_viz.checkpoints.store import (  # noqa: E402
    DEFAULT_CHECKPOINT_NAMES,
    REPO_CHECKPOINT_DIR,
    load_checkpoint,
)
from lenet_viz.explain.cache import model_fingerprint  # noqa: E402
from lenet_viz.explain.robustness import robustness_curves, robustness_digits  # noqa: E402
from lenet_viz.explain.stored import STORE, store_key, write_results  # noqa: E402
from lenet_viz.explain.top_activations import search_digits, top_activations  # noqa: E402


def compute_for_shipped(path: Path = STORE) -> dict[str, dict[str, dict]]:
    """Compute and store both results for every shipped checkpoint that is on disk."""
    results: dict[str, dict[str, dict]] = {"robustness": {}, "top_digits": {}}
    robustness_set, robustness_source = robustness_digits()
    search_set, search_source = search_digits()
    for name in DEFAULT_CHECKPOINT_NAMES.values():
        checkpoint = REPO_CHECKPOINT_DIR / name
        if not checkpoint.is_file():
            continue
        model = load_checkpoint(checkpoint).model
        fingerprint = model_fingerprint(model)
        curves = robustness_curves(model, robustness_set, source=robustness_source)
        key = store_key(fingerprint, robustness_source, len(robustness_set))
        results["robustness"][key] = curves.to_dict()
        found = top_activations(model, search_set.images, source=search_source)
        key = store_key(fingerprint, search_source, len(search_set))
        results["top_digits"][key] = found.to_dict()
        print(f"{name}: {fingerprint}")
    write_results(results, path)
    return results


if __name__ == "__main__":
    compute_for_shipped()
    print(f"wrote {STORE}")
