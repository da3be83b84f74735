"""Rebuild lenet_viz/assets/sample_digits.npz from the MNIST test set.

The asset holds the first 20 test digits of each class (200 in all, grouped by class 0..9), their
labels and their indices in the test set, so the Draw and Inside pages have real digits to show
before MNIST is fetched. Run after `python -m lenet_viz fetch-data`:

    python scripts/make_sample_digits.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lenet_viz.data.datasets import (
    SAMPLE_DIGITS_PATH,
    SAMPLES_PER_CLASS,
    first_indices_per_class,
    load_split,
)


def main() -> int:
    test = load_split("mnist", train=False)
    indices = first_indices_per_class(test.labels, SAMPLES_PER_CLASS)
    samples = test.select(indices)
    SAMPLE_DIGITS_PATH.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        SAMPLE_DIGITS_PATH,
        images=samples.images.numpy().astype(np.uint8),
        labels=samples.labels.numpy().astype(np.int64),
        indices=indices.numpy().astype(np.int64),
    )
    size_kb = SAMPLE_DIGITS_PATH.stat().st_size / 1024
    per_class = f"{SAMPLES_PER_CLASS} per class"
    print(f"wrote {len(samples)} digits ({per_class}) to {SAMPLE_DIGITS_PATH} ({size_kb:.0f} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
