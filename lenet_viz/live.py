"""A live view of a Trainer whose cost per poll does not grow with the run.

A page polls a running Trainer about once a second. Copying the whole history and rebuilding
every figure from it at each poll costs more the longer the run (quadratic in all), and on a
server whose core also trains, that time is taken from training. A `LiveView` instead:

- reads only the iterations recorded since its last poll (`TrainingRun.history_since`, under
  the run's lock), never a copy of the whole history;
- adds them to `LiveCurve`s: display buckets of consecutive iterations, at most `MAX_BUCKETS`
  per curve (the bucket size doubles as the run grows), each keeping its lowest and highest
  value, and the exponential moving average carried over from one point to the next, so the
  smoothing never starts again from the first iteration;
- builds each Plotly figure once (with the functions of `lenet_viz.figures.training`, so it
  looks the same), then at each poll only replaces its traces' data, found by their `uid`
  (`PreparedFigure`); a figure whose data did not change (a paused run) is not touched.

The full history stays in the run, for the CSV, the results and `Trainer.snapshot()`.
"""

from __future__ import annotations

import base64
import math
from array import array
from collections.abc import Callable, Sequence

import numpy as np
import plotly.graph_objects as go

from lenet_viz.figures.training import (
    AUTO,
    GRADIENT,
    auto_smoothing,
    epoch_figure,
    gradient_norm_figure,
    iteration_figure,
    overlay_figure,
    parse_curve_uid,
    small_multiples_figure,
    smooth,
    summary_row,
    tail_length,
)
from lenet_viz.train import History, Trainer, TrainerSnapshot

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

    The smoothing is `figures.training.smooth` (debiased EMA, non-finite values skipped), its
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


class LiveRun:
    """One run's curves, grown poll by poll: a curves source for the figure functions of
    `lenet_viz.figures.training` (like `HistoryCurves`, without the whole history).

    Loss and accuracy (in %) are drawn against `x` ("iteration" or "epoch"), the gradient
    norms always against the iteration, as the figures do.
    """

    def __init__(
        self,
        name: str,
        x: str = "iteration",
        smoothing: float | None = AUTO,
        max_buckets: int = MAX_BUCKETS,
    ):
        if x not in ("iteration", "epoch"):
            raise ValueError(f"x must be 'iteration' or 'epoch', got {x!r}")
        self.name, self.x = name, x
        self._new_curve = lambda: LiveCurve(smoothing, max_buckets)
        self.curves: dict[str, LiveCurve] = {"loss": self._new_curve()}
        self.curves["accuracy"] = self._new_curve()
        self.consumed = 0  # records read so far: the next poll reads from here
        self.epochs: list[dict] = []
        self._layers: list[str] = []  # every layer with norms, in the model's order
        self._trained: set[str] = set()  # the layers with a non-zero norm somewhere
        self._c1_sums = array("d", [0.0])  # prefix sums of C1's finite norms, and their count
        self._c1_counts = array("q", [0])

    @property
    def count(self) -> int:
        return self.consumed

    def absorb(self, new: History) -> bool:
        """Add records read with `TrainingRun.history_since(self.consumed)`; True if the
        curves or the epochs changed."""
        added = len(new.iteration)
        if added:
            xs = new.iteration if self.x == "iteration" else new.epoch_float
            self.curves["loss"].extend(xs, new.loss)
            self.curves["accuracy"].extend(xs, [100.0 * a for a in new.accuracy])
            for layer, norms in new.grad_norm.items():
                if layer not in self._layers:
                    self._layers.append(layer)
                    self.curves[GRADIENT + layer] = self._new_curve()
                self.curves[GRADIENT + layer].extend(new.iteration, norms)
                if layer not in self._trained and any(norm > 0 for norm in norms):
                    self._trained.add(layer)
            self._add_c1(new.grad_norm.get("C1", []))
            self.consumed += added
        epochs_changed = len(new.epochs) != len(self.epochs)
        self.epochs = new.epochs
        return bool(added) or epochs_changed

    def _add_c1(self, norms: Sequence[float]) -> None:
        total, count = self._c1_sums[-1], self._c1_counts[-1]
        for norm in norms:
            if math.isfinite(norm):
                total, count = total + norm, count + 1
            self._c1_sums.append(total)
            self._c1_counts.append(count)

    # -- the curves source -----------------------------------------------------------------
    def raw(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        return self.curves[metric].raw()

    def smoothed(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        return self.curves[metric].smoothed()

    def layers(self) -> list[str]:
        """The layers with a non-zero gradient somewhere (as `trained_layers`)."""
        return [layer for layer in self._layers if layer in self._trained]

    # -- summary numbers -------------------------------------------------------------------
    def last_smoothed(self, metric: str) -> float | None:
        return self.curves[metric].last_smoothed

    def c1_tail_mean(self) -> float | None:
        """The mean C1 gradient norm over the last 10% of the iterations (finite ones)."""
        recorded = len(self._c1_sums) - 1
        if not recorded:
            return None
        start = recorded - tail_length(recorded)
        count = self._c1_counts[-1] - self._c1_counts[start]
        return (self._c1_sums[-1] - self._c1_sums[start]) / count if count else None


def typed_array(values: np.ndarray) -> dict:
    """An array as plotly.js's base64 typed array ({"dtype", "bdata"}), as Plotly's own
    `to_dict()` writes numpy arrays: a third of the size of a list of decimals, and no
    float-by-float formatting at each poll."""
    values = np.asarray(values)
    if values.dtype.kind in "iu" and (not values.size or np.abs(values).max() < 2**31):
        values = values.astype("<i4")
    else:
        values = values.astype("<f8")
    dtype = "i4" if values.dtype.kind == "i" else "f8"
    return {"dtype": dtype, "bdata": base64.b64encode(values.tobytes()).decode("ascii")}


def array_of(data) -> np.ndarray:
    """A trace's x or y as an array, from a list or a typed array (`typed_array`)."""
    if isinstance(data, dict):
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"])
    return np.asarray(data)


class PreparedFigure(go.Figure):
    """A Plotly figure held as its JSON-ready dict, which `to_dict()` returns as it is.

    Streamlit's `st.plotly_chart` serializes a figure through `to_dict()`. A go.Figure
    validates every property it is given and copies itself there: tens of milliseconds for the
    Compare page's figures, at every poll. This one was validated once, when built from a
    go.Figure; a live view then replaces only its traces' data arrays.
    """

    spec: dict | None = None

    def __init__(self, figure: go.Figure):
        super().__init__()
        self.spec = figure.to_dict()

    def to_dict(self) -> dict:
        return self.spec

    @property
    def traces(self) -> list[dict]:
        return self.spec["data"]


class _Cached:
    """A built figure, the structure it was built for, the data version it shows, and which
    curve each of its traces draws: (trace index, run, metric, "raw" or "smooth"), read from
    the trace uids when built (Plotly's `to_json` then removes the uids from the dict)."""

    def __init__(self, figure: PreparedFigure, structure: tuple, version: int):
        self.figure, self.structure, self.version = figure, structure, version
        self.curves = [
            (index, *parse_curve_uid(trace["uid"]))
            for index, trace in enumerate(figure.traces)
            if trace.get("uid")
        ]


class LiveView:
    """The live figures and summary of one Trainer's runs, for one page of one session.

    Call `poll(trainer)` once per refresh: it returns the trainer's snapshot (without
    histories) and reads the new records. Then ask for the figures: each is rebuilt only when
    its structure changes (the first batch, a layer's first gradient, an epoch's end), and
    otherwise gets only its traces' data refreshed, when that data changed.
    """

    def __init__(
        self,
        trainer: Trainer,
        *,
        x: str = "iteration",
        smoothing: float | None = AUTO,
        max_buckets: int = MAX_BUCKETS,
    ):
        self.trainer_id = trainer.id
        self.x = x
        self.runs = [LiveRun(run.name, x, smoothing, max_buckets) for run in trainer.runs]
        self.version = 0  # counts the polls that brought new records
        self.records_read = 0  # records read by the last poll (all runs)
        self._cached: dict[str, _Cached] = {}

    def follows(self, trainer: Trainer, x: str = "iteration") -> bool:
        """True when this view was made for `trainer` (and this x axis)."""
        return self.trainer_id == trainer.id and self.x == x

    def poll(self, trainer: Trainer) -> TrainerSnapshot:
        snapshot = trainer.snapshot(histories=False)
        changed, self.records_read = False, 0
        for live, run in zip(self.runs, trainer.runs, strict=True):
            new = run.history_since(live.consumed)
            self.records_read += len(new.iteration)
            changed |= live.absorb(new)
        if changed:
            self.version += 1
        return snapshot

    # -- figures -------------------------------------------------------------------------
    def _figure(self, name: str, structure: tuple, build: Callable[[], go.Figure]):
        cached = self._cached.get(name)
        if cached is None or cached.structure != structure:
            cached = _Cached(PreparedFigure(build()), structure, self.version)
            self._cached[name] = cached
        elif cached.version != self.version:
            self._refresh(cached)
            cached.version = self.version
        return cached.figure

    def _refresh(self, cached: _Cached) -> None:
        traces = cached.figure.traces
        for index, run, metric, kind in cached.curves:
            source = self.runs[run]
            xs, ys = (source.raw if kind == "raw" else source.smoothed)(metric)
            traces[index]["x"], traces[index]["y"] = typed_array(xs), typed_array(ys)

    def _started(self) -> tuple[bool, ...]:
        return tuple(run.count > 0 for run in self.runs)

    def iteration_figure(self) -> PreparedFigure:
        """The Train page's loss and accuracy per iteration (first run)."""
        return self._figure(
            "iteration", self._started()[:1], lambda: iteration_figure(self.runs[0])
        )

    def epoch_figure(self, total_epochs: int | None = None) -> PreparedFigure:
        """Train and test per epoch (first run): rebuilt at each epoch's end only."""
        run = self.runs[0]
        structure = (len(run.epochs), total_epochs)
        return self._figure(
            "epoch", structure, lambda: epoch_figure(run, total_epochs=total_epochs)
        )

    def _named(self) -> list[tuple[str, LiveRun]]:
        return [(run.name, run) for run in self.runs]

    def overlay_figure(self) -> PreparedFigure:
        return self._figure(
            "overlay", self._started(), lambda: overlay_figure(self._named(), x=self.x)
        )

    def small_multiples_figure(self) -> PreparedFigure:
        return self._figure(
            "multiples", (), lambda: small_multiples_figure(self._named(), x=self.x)
        )

    def gradient_norm_figure(self) -> PreparedFigure:
        structure = tuple(tuple(run.layers()) for run in self.runs)
        return self._figure("gradients", structure, lambda: gradient_norm_figure(self._named()))

    # -- summary ---------------------------------------------------------------------------
    def summary_rows(self, snapshot: TrainerSnapshot, configs: Sequence[dict]) -> list[dict]:
        """`figures.training.summary_rows` from the live curves (no history needed)."""
        rows = []
        for live, entry, config in zip(self.runs, snapshot.runs, configs, strict=True):
            accuracy = live.last_smoothed("accuracy")
            rows.append(
                summary_row(
                    {**entry, "config": config},
                    live.epochs,
                    loss=live.last_smoothed("loss"),
                    accuracy=None if accuracy is None else accuracy / 100.0,
                    c1_gradient=live.c1_tail_mean(),
                )
            )
        return rows
