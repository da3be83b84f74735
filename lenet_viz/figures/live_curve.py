"""One live curve: grown point by point, drawn with a bounded number of points.

A `LiveCurve` keeps display buckets of consecutive points, at most `MAX_BUCKETS` (the bucket
size doubles as the curve grows), each with its lowest and highest value, and the exponential
moving average carried over from one point to the next, so the smoothing never starts again
from the first point. Adding a point costs the same at the millionth point as at the first.
`lenet_viz.figures.live` builds a run's curves, and a page's live figures, from these.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from lenet_viz.figures.smoothing import AUTO, auto_smoothing, smooth

# Display buckets per curve: between MAX_BUCKETS / 2 and MAX_BUCKETS, about one per horizontal
# pixel of a chart (the overlay's panels are ~550 px wide, Compare's small multiples ~300 px).
MAX_BUCKETS = 512


def _settled_auto_count(limit: int = 10**9) -> int:
    """The smallest curve length from which `auto_smoothing` gives its final weight."""
    final = auto_smoothing(limit)
    low, high = 1, limit
    while low < high:
        middle = (low + high) // 2
        if auto_smoothing(middle) == final:
            high = middle
        else:
            low = middle + 1
    return low


AUTO_SETTLED = _settled_auto_count()  # 1,000 points: a 50-point window, 5% of the curve
AUTO_FINAL_WEIGHT = auto_smoothing(AUTO_SETTLED)


class LiveCurve:
    """One curve, grown point by point, drawn with a bounded number of points.

    Consecutive points fall in buckets of `bucket_size` points (1, 2, 4, ...). A bucket keeps
    its lowest and highest finite point and the smoothed value at its last point. When
    `max_buckets` buckets are full, neighbours merge in pairs and the size doubles, so a curve
    of any length has between max_buckets / 2 and max_buckets buckets, and adding a point
    costs the same at the millionth point as at the first.

    The smoothing is `figures.smoothing.smooth` (debiased EMA, non-finite values skipped), its
    state carried from point to point. With smoothing=AUTO the weight depends on the number
    of points until AUTO_SETTLED (1,000) points; until then the curve keeps its values and
    smooths them again at each display (at most AUTO_SETTLED values: bounded work too).
    """

    def __init__(self, smoothing: float | None = AUTO, max_buckets: int = MAX_BUCKETS):
        if max_buckets < 2 or max_buckets % 2:
            raise ValueError(f"max_buckets must be an even number >= 2, got {max_buckets}")
        weight = AUTO_FINAL_WEIGHT if smoothing is None else smoothing
        if not 0 <= weight < 1:
            raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
        self.smoothing, self.weight, self.max_buckets = smoothing, weight, max_buckets
        self.bucket_size = 1
        self.count = 0
        # Full buckets, as parallel lists: lowest point, highest point, last point's smoothed
        # value. An empty extreme (no finite value) is (nan, +-inf).
        self._low_x: list[float] = []
        self._low_y: list[float] = []
        self._high_x: list[float] = []
        self._high_y: list[float] = []
        self._end_x: list[float] = []
        self._end_smooth: list[float] = []
        self._open = self._empty_bucket()  # the bucket being filled: [n, lx, ly, hx, hy, ex, es]
        self.first: tuple[float, float] | None = None
        self.last: tuple[float, float] | None = None
        self._average, self._decay = 0.0, 1.0  # EMA state: the average and weight ** steps
        self._early_y: list[float] = []  # the first AUTO_SETTLED values, with smoothing=AUTO
        self._display: dict = {}  # what was drawn since the last change: raw, smooth, early

    @staticmethod
    def _empty_bucket() -> list:
        return [0, math.nan, math.inf, math.nan, -math.inf, math.nan, math.nan]

    # -- adding points -------------------------------------------------------------------
    def extend(self, xs: Sequence[float], ys: Sequence[float]) -> None:
        """Add the points (xs[i], ys[i]) after the ones already there (xs increasing)."""
        if len(xs) != len(ys):
            raise ValueError(f"xs and ys differ in length: {len(xs)} != {len(ys)}")
        if not len(xs):
            return
        self._display.clear()
        if self.first is None:
            self.first = (xs[0], float(ys[0]))
        self.last = (xs[-1], float(ys[-1]))
        if self.smoothing is None and self.count < AUTO_SETTLED:
            self._early_y.extend(float(y) for y in ys[: AUTO_SETTLED - self.count])
        weight, rest = self.weight, 1.0 - self.weight
        average, decay = self._average, self._decay
        bucket, size = self._open, self.bucket_size
        isfinite = math.isfinite
        for x, y in zip(xs, ys, strict=True):
            if isfinite(y):
                average = weight * average + rest * y
                decay *= weight
                if y < bucket[2]:
                    bucket[1], bucket[2] = x, y
                if y > bucket[4]:
                    bucket[3], bucket[4] = x, y
            bucket[0] += 1
            bucket[5] = x
            bucket[6] = average / (1.0 - decay) if decay < 1.0 else math.nan
            if bucket[0] == size:
                self._close(bucket)
                bucket, size = self._open, self.bucket_size
        self._average, self._decay = average, decay
        self.count += len(xs)
        if self.count >= AUTO_SETTLED:
            self._early_y = []

    def _close(self, bucket: list) -> None:
        self._low_x.append(bucket[1])
        self._low_y.append(bucket[2])
        self._high_x.append(bucket[3])
        self._high_y.append(bucket[4])
        self._end_x.append(bucket[5])
        self._end_smooth.append(bucket[6])
        self._open = self._empty_bucket()
        if len(self._end_x) == self.max_buckets:
            self._merge_pairs()

    def _merge_pairs(self) -> None:
        """Buckets 2k and 2k+1 become bucket k, of twice the size (amortised O(1) a point)."""
        low_x, low_y, high_x, high_y = [], [], [], []
        for a in range(0, len(self._end_x), 2):
            b = a + 1
            low = b if self._low_y[b] < self._low_y[a] else a
            high = b if self._high_y[b] > self._high_y[a] else a
            low_x.append(self._low_x[low])
            low_y.append(self._low_y[low])
            high_x.append(self._high_x[high])
            high_y.append(self._high_y[high])
        self._low_x, self._low_y, self._high_x, self._high_y = low_x, low_y, high_x, high_y
        self._end_x, self._end_smooth = self._end_x[1::2], self._end_smooth[1::2]
        self.bucket_size *= 2

    # -- what to draw --------------------------------------------------------------------
    def _buckets(self) -> tuple[list, list, list, list, list, list]:
        """The full buckets plus the open one (if it has points)."""
        columns = (
            self._low_x,
            self._low_y,
            self._high_x,
            self._high_y,
            self._end_x,
            self._end_smooth,
        )
        if not self._open[0]:
            return columns
        return tuple(column + [self._open[i + 1]] for i, column in enumerate(columns))

    def raw(self) -> tuple[np.ndarray, np.ndarray]:
        """The curve decimated for display: its first and last points, and each bucket's
        lowest and highest points in x order (every point while buckets hold one)."""
        if "raw" not in self._display:
            self._display["raw"] = self._raw()
        return self._display["raw"]

    def _raw(self) -> tuple[np.ndarray, np.ndarray]:
        if self.first is None:
            return np.empty(0), np.empty(0)
        low_x, low_y, high_x, high_y, _, _ = (np.asarray(c, dtype=float) for c in self._buckets())
        low_first = ~(high_x < low_x)
        first_x = np.where(low_first, low_x, high_x)
        first_y = np.where(low_first, low_y, high_y)
        second_x = np.where(low_first, high_x, low_x)
        second_y = np.where(low_first, high_y, low_y)
        xs = np.concatenate(([self.first[0]], np.column_stack((first_x, second_x)).ravel()))
        ys = np.concatenate(([self.first[1]], np.column_stack((first_y, second_y)).ravel()))
        xs, ys = np.append(xs, self.last[0]), np.append(ys, self.last[1])
        keep = np.isfinite(xs) & np.isfinite(ys)
        keep[1:] &= xs[1:] != xs[:-1]  # a point once (a bucket of one, the first, the last)
        return xs[keep], ys[keep]

    def smoothed(self) -> tuple[np.ndarray, np.ndarray]:
        """The smoothed curve at the last point of each bucket."""
        if "smooth" not in self._display:
            self._display["smooth"] = self._smoothed()
        return self._display["smooth"]

    def _smoothed(self) -> tuple[np.ndarray, np.ndarray]:
        _, _, _, _, end_x, end_smooth = self._buckets()
        xs, ys = np.asarray(end_x), np.asarray(end_smooth, dtype=float)
        if self._early_y:  # AUTO before its weight settled: smooth again with today's weight
            ends = np.minimum(np.arange(1, len(xs) + 1) * self.bucket_size, self.count) - 1
            ys = self._early_smoothed()[ends]  # at the last point of each bucket
        keep = np.isfinite(ys)
        return xs[keep], ys[keep]

    def _early_smoothed(self) -> np.ndarray:
        """Every early value smoothed with the AUTO weight of today's count (once a change)."""
        if "early" not in self._display:
            smoothed = smooth(self._early_y, auto_smoothing(self.count))
            self._display["early"] = np.asarray(smoothed, dtype=float)
        return self._display["early"]

    @property
    def last_smoothed(self) -> float | None:
        """The smoothed value at the last point (None before the first finite value)."""
        if not self.count:
            return None
        if self._early_y:
            value = float(self._early_smoothed()[-1])
        else:
            value = self._average / (1.0 - self._decay) if self._decay < 1.0 else math.nan
        return value if math.isfinite(value) else None
