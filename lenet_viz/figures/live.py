"""A live view of a Trainer whose cost per poll does not grow with the run.

A page polls a running Trainer about once a second. Copying the whole history and rebuilding
every figure from it at each poll costs more the longer the run (quadratic in all), and on a
server whose core also trains, that time is taken from training. A `LiveView` instead:

- reads only the iterations recorded since its last poll (`TrainingRun.history_since`, under
  the run's lock), never a copy of the whole history;
- adds them to `LiveCurve`s (`lenet_viz.figures.live_curve`): display buckets of consecutive
  iterations, at most `MAX_BUCKETS` per curve (the bucket size doubles as the run grows),
  each keeping its lowest and highest value, and the exponential moving average carried over
  from one point to the next, so the smoothing never starts again from the first iteration;
- builds each Plotly figure once (with the functions of `figures.training` and
  `figures.comparison`, so it looks the same), then at each poll only replaces its traces'
  data, found by their `uid` (`PreparedFigure`); a figure whose data did not change (a paused
  run) is not touched;
- builds a figure's frame (its axes, titles, legend and notes: everything but the curves'
  data) once per process for every view of runs with the same names (`_frames`): a class
  that starts the same experiment waits for Plotly once, not once each (issue 22).

The full history stays in the run, for the CSV, the results and `Trainer.snapshot()`.
"""

from __future__ import annotations

import base64
import copy
import math
import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np
import plotly.graph_objects as go

from lenet_viz.figures.comparison import (
    gradient_norm_figure,
    overlay_figure,
    small_multiples_figure,
    summary_row,
    tail_length,
)
from lenet_viz.figures.curves import GRADIENT, parse_curve_uid
from lenet_viz.figures.live_curve import MAX_BUCKETS, LiveCurve
from lenet_viz.figures.smoothing import AUTO
from lenet_viz.figures.training import epoch_figure, iteration_figure
from lenet_viz.training.history import History
from lenet_viz.training.runner import Trainer, TrainerSnapshot


class LiveRun:
    """One run's curves, grown poll by poll: a curves source (`lenet_viz.figures.curves`) for
    the curve figures, like `HistoryCurves` without the whole history.

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

    def __init__(self, figure: go.Figure | dict):
        """From a built figure, or from a spec that figure's `to_dict()` made."""
        super().__init__()
        self.spec = figure if isinstance(figure, dict) else figure.to_dict()

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


FRAMES_KEPT = 64  # frames kept per process (a few kilobytes each)
_frames: OrderedDict[tuple, dict] = OrderedDict()
_frames_lock = threading.Lock()


def built_frame(key: tuple, build: Callable[[], go.Figure]) -> PreparedFigure:
    """A new copy of the figure spec `build()` makes, built once per `key` in this process.

    For figures where everything but their curves' data (the traces found by uid) follows from
    `key`: the copy shows the data of whichever view built it first until it is refreshed."""
    with _frames_lock:
        spec = _frames.get(key)
        if spec is not None:
            _frames.move_to_end(key)
    if spec is None:
        spec = PreparedFigure(build()).spec
        with _frames_lock:
            _frames[key] = spec
            while len(_frames) > FRAMES_KEPT:
                _frames.popitem(last=False)
    return PreparedFigure(copy.deepcopy(spec))


def forget_frames() -> None:
    """Drop every frame kept by `built_frame` (tests: a figure built afresh)."""
    with _frames_lock:
        _frames.clear()


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
        prepare: Callable[[go.Figure], go.Figure] | None = None,
    ):
        """prepare: applied to each figure once, when it is built (the app translates its
        text there), not at every poll."""
        self.trainer_id = trainer.id
        self.x = x
        self.prepare = prepare
        self.runs = [LiveRun(run.name, x, smoothing, max_buckets) for run in trainer.runs]
        self.version = 0  # counts the polls that brought new records
        self.records_read = 0  # records read by the last poll (all runs)
        self._cached: dict[str, _Cached] = {}

    def follows(self, trainer: Trainer, x: str = "iteration", prepare=None) -> bool:
        """True when this view was made for `trainer` (and this x axis, and `prepare`)."""
        return self.trainer_id == trainer.id and self.x == x and self.prepare is prepare

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
    def _figure(
        self, name: str, structure: tuple, build: Callable[[], go.Figure], shared: bool = True
    ):
        """The figure `name`, built when its `structure` changed, else refreshed when new
        records came. `shared`: everything in it but its curves' data follows from the
        structure, the runs' names, x and `prepare`, so its frame is built once per process."""
        cached = self._cached.get(name)
        if cached is None or cached.structure != structure:
            made = build if self.prepare is None else lambda: self.prepare(build())
            if shared:
                key = (name, structure, tuple(run.name for run in self.runs), self.x)
                figure = built_frame((*key, self.prepare), made)
            else:
                figure = PreparedFigure(made())
            cached = _Cached(figure, structure, self.version)
            if shared:
                self._refresh(cached)  # this view's data, not the builder's
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
            "epoch",
            structure,
            lambda: epoch_figure(run, total_epochs=total_epochs),
            shared=False,  # its points are not curves found by uid: each view builds its own
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
        """`figures.comparison.summary_rows` from the live curves (no history needed)."""
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
