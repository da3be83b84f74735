"""`python -m benchmarks [--quick] [--only a,b] [--skip a,b] [--json PATH] [--markdown PATH]`.

Runs the sections in order, prints a Markdown table to stdout, writes every raw number to
benchmarks/results/latest.json and (full runs only) the table to benchmarks/RESULTS.md.
`--quick` shrinks every measurement to a few batches: it checks that the suite works, its
numbers mean nothing. A section that fails is reported as an error row; the others still run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_JSON = HERE / "results" / "latest.json"
DEFAULT_MARKDOWN = HERE / "RESULTS.md"
# RESULTS.md below this line is written by hand (design measurements); a run keeps it.
KEPT_MARKER = "<!-- measured by hand: `make bench` keeps everything below this line -->"
SECTIONS = (
    "throughput",
    "fast",
    "eval",
    "draw",
    "drawn",
    "coldstart",
    "apptest",
    "replay",
    "limit",
    "explain",
    "livepoll",
    "applive",
    "workers",
    "browser",
)

# Targets of issue 5, on the 2-core machine.
MIN_TRAINER_OVER_BARE = 0.9
FAST_MAX_SECONDS = 12.0
FAST_MIN_ACCURACY = 0.99
EVAL_MAX_SECONDS = 0.5
DRAW_MAX_P95_MS = 20.0
# Targets of issue 10 for the default Draw model (MNIST raised to 99.4% by issue 24).
DRAWN_MIN_ACCURACY = 0.99
MNIST_MIN_ACCURACY = 0.994
COLD_START_MAX_SECONDS = 5.0
# Issue 13: the live inside-the-net panel adds no per-poll work that grows with the run.
REPLAY_MAX_GROWTH = 1.5  # poll at iteration 100,000 / poll at iteration 100
REPLAY_MAX_POLL_MS = 200.0  # four runs, a quarter of the 0.8 s poll period
# Targets of issue 14.
ROBUSTNESS_MAX_SECONDS = 5.0
SALIENCY_MAX_MS = 1000.0
# Targets of issue 11: the live view costs the training almost nothing.
MIN_APP_OVER_LIBRARY = 0.85
MAX_POLL_CPU_MS = 30.0
MAX_POLL_GROWTH = 2.0
# Targets of issue 21: training in worker processes.
MAX_SERVER_CPU_SHARE = 0.25
MAX_KILL_RECOVERY_SECONDS = 15.0

FULL = {
    "throughput": dict(n_images=4_096, notebook_images=2_048, repeats=15, notebook_repeats=3),
    "fast_args": (),
    "eval": dict(test_limit=None, repeats=5),
    "draw": dict(samples=200, distinct=20),
    "drawn": dict(),
    "apptest": dict(reruns=5),
    "replay": dict(polls=30),
    "explain": dict(repeats=20),
    "browser": True,
    "livepoll": dict(sizes=(2_000, 20_000, 100_000), polls=20, before_polls=3),
    "applive": dict(compare_sizes=("Medium", "Full"), train_epochs=10),
    "workers": dict(quick=False),
    "browser_waits": dict(repeats=9, page_repeats=4, train_repeats=3),
}
QUICK = {
    "throughput": dict(n_images=256, notebook_images=64, repeats=1, notebook_repeats=1),
    "fast_args": ("--train-limit", "512", "--test-limit", "256", "--epochs", "1"),
    "eval": dict(test_limit=500, repeats=1),
    "draw": dict(samples=5, distinct=5),
    "drawn": dict(
        canvas_per_template=1,
        photos_per_template=1,
        mnist_limit=500,
        canvas_per_writer=1,
        photos_per_writer=1,
    ),
    "apptest": dict(reruns=1),
    "replay": dict(polls=2, iterations=(10, 1_000)),
    "explain": dict(repeats=2, sweeps=("rotation",), search_limit=500),
    "browser": False,
    "livepoll": dict(sizes=(200, 2_000), polls=2, before_polls=1),
    "applive": dict(compare_sizes=("Tiny",), train_epochs=None),
    "workers": dict(quick=True),
    "browser_waits": dict(repeats=1, page_repeats=1, train_repeats=1),
}


@dataclass
class Row:
    """One line of the table. ok is None when there is no target (or none applies here)."""

    section: str
    what: str
    value: str
    target: str = ""
    ok: bool | None = None


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- sections


def run_throughput(settings: dict, results: dict, quick: bool) -> list[Row]:
    from benchmarks.training import measure_throughput

    measured = measure_throughput(log=_log, **settings["throughput"])
    results["throughput"] = measured
    rows = []
    for batch_size, entry in measured["by_batch"].items():
        ips = entry["images_per_second"]
        ratio = entry["trainer_over_bare"]
        rows.append(
            Row(
                "throughput",
                f"train images/s, batch {batch_size}: notebook / bare / Trainer",
                f"{ips['notebook']:,.0f} / {ips['bare']:,.0f} / {ips['trainer']:,.0f}",
            )
        )
        rows.append(
            Row(
                "throughput",
                f"Trainer / bare, batch {batch_size} (by CPU time)",
                f"{ratio:.2f}x ({entry['trainer_over_bare_cpu']:.2f}x)",
                f">= {MIN_TRAINER_OVER_BARE}x",
                None if quick else ratio >= MIN_TRAINER_OVER_BARE,
            )
        )
        rows.append(
            Row(
                "throughput",
                f"Trainer / notebook, batch {batch_size}",
                f"{entry['trainer_over_notebook']:.1f}x",
            )
        )
    return rows


def run_fast(
    settings: dict, results: dict, quick: bool, seeds: list[int], env: dict | None = None
) -> list[Row]:
    from benchmarks.training import time_to_accuracy

    runs = []
    for seed in seeds:
        run = time_to_accuracy(settings["fast_args"], seed=seed, env=env)
        _log(
            f"  seed {seed}: test_acc {run['test_acc']:.4f} after {run['epochs']} epochs, "
            f"{run['wall_seconds']} s wall"
        )
        runs.append({"seed": seed, **run})
    results["fast"] = {"runs": runs}
    rows = []
    for run in runs:
        ok = run["test_acc"] >= FAST_MIN_ACCURACY and run["wall_seconds"] <= FAST_MAX_SECONDS
        rows.append(
            Row(
                "fast",
                f"`train --preset fast --seed {run['seed']}`: test acc, wall (epochs)",
                f"{run['test_acc']:.4f}, {run['wall_seconds']:.1f} s ({run['epochs']} epochs)",
                f">= {FAST_MIN_ACCURACY:.3f} in <= {FAST_MAX_SECONDS:.0f} s",
                None if quick else ok,
            )
        )
    return rows


def run_eval(settings: dict, results: dict, quick: bool) -> list[Row]:
    from benchmarks.inference import measure_evaluation

    measured = measure_evaluation(**settings["eval"])
    results["eval"] = measured
    seconds = measured["seconds_median"]
    return [
        Row(
            "eval",
            f"full evaluation ({measured['digits']:,} digits)",
            f"{seconds:.3f} s ({measured['digits_per_second']:,} digits/s)",
            f"<= {EVAL_MAX_SECONDS} s",
            None if quick else seconds <= EVAL_MAX_SECONDS,
        )
    ]


def run_draw(settings: dict, results: dict, quick: bool) -> list[Row]:
    from benchmarks.inference import measure_draw_latency

    measured = measure_draw_latency(**settings["draw"])
    results["draw"] = measured
    return [
        Row(
            "draw",
            "draw-to-prediction p50 / p95 (preprocess + every layer's maps)",
            f"{measured['p50_ms']:.1f} / {measured['p95_ms']:.1f} ms",
            f"p95 <= {DRAW_MAX_P95_MS:.0f} ms",
            None if quick else measured["p95_ms"] <= DRAW_MAX_P95_MS,
        )
    ]


def run_drawn(settings: dict, results: dict, quick: bool) -> list[Row]:
    from benchmarks.drawn import (
        STYLE_MIN_ACCURACY,
        STYLE_MIN_DIGITS,
        WRITERS_MIN_ACCURACY,
        confusion_table_lines,
        measure_drawn,
        per_style_lines,
        summary,
        writers_report_lines,
    )

    measured = measure_drawn(**settings["drawn"])
    results["drawn"] = measured
    for line in per_style_lines(measured["by_style"]):
        _log(f"drawn, {line}")
    _log("drawn, confusions (rows: the digit drawn, columns: what the Draw page read):")
    for line in confusion_table_lines(measured["confusion_matrix"]):
        _log(f"  {line}")
    for line in writers_report_lines(measured["writers"]):
        _log(f"drawn, {line}")
    rows = [Row("drawn", what, value) for what, value in summary(measured)]
    rows[0].target = f">= {DRAWN_MIN_ACCURACY:.1%}"
    rows[0].ok = None if quick else measured["accuracy"] >= DRAWN_MIN_ACCURACY
    writers = measured["writers"]
    for row in rows:
        if row.what.startswith("test writers ("):
            row.target = f">= {WRITERS_MIN_ACCURACY:.1%}"
            row.ok = None if quick else writers["accuracy"] >= WRITERS_MIN_ACCURACY
        if row.what.startswith("test writers: styles"):
            row.target = f"every style of >= {STYLE_MIN_DIGITS} digits >= {STYLE_MIN_ACCURACY:.0%}"
            row.ok = None if quick else not writers["styles_short"]
        if row.what.startswith("MNIST test"):
            row.target = f">= {MNIST_MIN_ACCURACY:.1%}"
            row.ok = None if quick else measured["mnist_accuracy"] >= MNIST_MIN_ACCURACY
    return rows


def run_coldstart(settings: dict, results: dict, quick: bool) -> list[Row]:
    from benchmarks.app_timing import measure_cold_start

    measured = measure_cold_start(with_browser=settings["browser"])
    results["coldstart"] = measured
    rows = [
        Row(
            "coldstart",
            "app cold start (`streamlit run` to page + health answering)",
            f"{measured['seconds']:.2f} s",
            f"<= {COLD_START_MAX_SECONDS:.0f} s",
            None if quick else measured["seconds"] <= COLD_START_MAX_SECONDS,
        )
    ]
    if measured.get("first_render_seconds") is not None:
        rows.append(
            Row(
                "coldstart",
                "`streamlit run` to the home page rendered in a browser (first script run)",
                f"{measured['first_render_seconds']:.2f} s",
            )
        )
    return rows


def run_apptest(settings: dict, results: dict, quick: bool) -> list[Row]:
    from benchmarks.app_timing import measure_draw_rerun

    measured = measure_draw_rerun(**settings["apptest"])
    results["apptest"] = measured
    if "skipped" in measured:
        return [Row("apptest", "Draw page rerun (AppTest)", f"skipped: {measured['skipped']}")]
    return [
        Row(
            "apptest",
            "Draw page (AppTest): first run / rerun with a new drawing",
            f"{measured['first_run_seconds']:.2f} s / {measured['rerun_seconds_median']:.3f} s",
        )
    ]


def run_replay(settings: dict, results: dict, quick: bool) -> list[Row]:
    from benchmarks.replay import measure_live_poll

    measured = measure_live_poll(**settings["replay"])
    results["replay"] = measured
    cases = list(measured["by_case"].values())
    rows = []
    for runs in sorted({case["runs"] for case in cases}):
        mine = sorted((c for c in cases if c["runs"] == runs), key=lambda c: c["iteration"])
        short, long = mine[0], mine[-1]
        growth = long["median_ms"] / max(short["median_ms"], 1e-9)
        ok = growth <= REPLAY_MAX_GROWTH and long["median_ms"] <= REPLAY_MAX_POLL_MS
        rows.append(
            Row(
                "replay",
                f"live inside panel, one poll, {runs} run(s): at iteration "
                f"{short['iteration']:,} / {long['iteration']:,} (median)",
                f"{short['median_ms']:.1f} / {long['median_ms']:.1f} ms ({growth:.2f}x)",
                f"<= {REPLAY_MAX_GROWTH}x, <= {REPLAY_MAX_POLL_MS:.0f} ms",
                None if quick else ok,
            )
        )
    rows.append(
        Row(
            "replay",
            "one weight snapshot taken in training (about 31 per one-epoch run)",
            f"{measured['capture_ms']:.3f} ms",
        )
    )
    return rows


def run_limit(settings: dict, results: dict, quick: bool) -> list[Row]:
    """Training FLOPs per image x images/s against the CPU's peak FP32 FLOPs."""
    from lenet_viz.nets.build import build_model
    from lenet_viz.nets.config import ModelConfig

    connections = build_model(ModelConfig(arch="modern", activation="relu")).info()
    macs = connections["total_connections"]
    flops_per_image = 3 * 2 * macs  # forward MACs x 2 FLOPs, training ~ 3 x forward
    peak = results["machine"]["peak_fp32_gflops"]
    throughput = results.get("throughput", {}).get("by_batch", {})
    if not throughput or not peak:
        results["limit"] = {"skipped": "needs the throughput section and a known CPU peak"}
        return [Row("limit", "share of peak FP32", "skipped (run the throughput section)")]
    best = {
        name: max(entry["images_per_second"][name] for entry in throughput.values())
        for name in ("bare", "trainer")
    }
    achieved = {name: flops_per_image * ips / 1e9 for name, ips in best.items()}
    results["limit"] = {
        "forward_macs_per_image": macs,
        "training_flops_per_image": flops_per_image,
        "peak_gflops": peak,
        "best_images_per_second": best,
        "achieved_gflops": {k: round(v, 2) for k, v in achieved.items()},
        "share_of_peak": {k: round(v / peak, 4) for k, v in achieved.items()},
        "images_per_second_at_peak": round(peak * 1e9 / flops_per_image),
    }
    return [
        Row(
            "limit",
            f"training GFLOP/s ({flops_per_image / 1e6:.2f} MFLOP/image): bare, Trainer",
            f"{achieved['bare']:.1f}, {achieved['trainer']:.1f} of {peak:.0f} peak "
            f"({achieved['trainer'] / peak:.0%})",
        )
    ]


def run_explain(settings: dict, results: dict, quick: bool) -> list[Row]:
    """Issue 14: robustness curves, top digits per map, saliency, the invariance explorer."""
    from benchmarks.explain import measure_explain

    measured = measure_explain(**settings["explain"])
    results["explain"] = measured
    rows = []
    for arch in ("modern", "faithful"):
        seconds = measured[f"robustness_{arch}_seconds"]
        rows.append(
            Row(
                "explain",
                f"robustness curves, {arch} net: {measured['sweep_points']} strengths x "
                f"{measured['digits']:,} digits, computed + figure (CPU time)",
                f"{seconds:.2f} s ({measured[f'robustness_{arch}_cpu_seconds']:.2f} s)",
                f"<= {ROBUSTNESS_MAX_SECONDS:.0f} s",
                None if quick else seconds <= ROBUSTNESS_MAX_SECONDS,
            )
        )
    for arch in ("modern", "faithful"):
        for name, what in (("occlusion", "occlusion map + figure"), ("gradient", "input gradient")):
            worst = measured[f"{name}_{arch}_max_ms"]
            rows.append(
                Row(
                    "explain",
                    f"{what}, {arch} net: median / worst of {settings['explain']['repeats']}",
                    f"{measured[f'{name}_{arch}_median_ms']:.0f} / {worst:.0f} ms",
                    f"<= {SALIENCY_MAX_MS:.0f} ms",
                    None if quick else worst <= SALIENCY_MAX_MS,
                )
            )
    rows.append(
        Row(
            "explain",
            f"top digits of every C1/C3 map and C5/F6 unit over "
            f"{measured['top_digits_searched']:,} digits: modern / faithful",
            f"{measured['top_digits_modern_seconds']:.2f} / "
            f"{measured['top_digits_faithful_seconds']:.2f} s",
        )
    )
    rows.append(
        Row(
            "explain",
            "invariance explorer, one slider move (distort + every layer): modern / faithful",
            f"{measured['explorer_modern_median_ms']:.1f} / "
            f"{measured['explorer_faithful_median_ms']:.1f} ms",
        )
    )
    return rows


def run_livepoll(settings: dict, results: dict, quick: bool) -> list[Row]:
    """Server CPU per poll of the Train and Compare live panels, against the run's length."""
    from benchmarks.live_polls import measure_poll_cpu

    measured = measure_poll_cpu(log=_log, **settings["livepoll"])
    results["livepoll"] = measured
    return livepoll_rows(measured, quick)


def livepoll_rows(measured: dict, quick: bool) -> list[Row]:
    rows = []
    for page, entry in measured["pages"].items():
        sizes = list(entry["by_size"].values())
        label = "Train page (1 run)" if page == "train" else f"Compare page ({entry['runs']} runs)"
        counts = " / ".join(f"{e['iterations'] // 1000:,}k" for e in sizes)
        before = " / ".join(f"{e['before_ms_median']:,.0f}" for e in sizes)
        ok = entry["worst_ms"] < MAX_POLL_CPU_MS and entry["growth"] <= MAX_POLL_GROWTH
        rows.append(
            Row(
                "livepoll",
                f"server CPU per poll, {label}, {counts} iterations",
                " / ".join(f"{e['live_ms_median']:.1f}" for e in sizes)
                + f" ms (before: {before} ms)",
                f"< {MAX_POLL_CPU_MS:.0f} ms, within {MAX_POLL_GROWTH:.0f}x",
                None if quick else ok,
            )
        )
    return rows


def run_applive(settings: dict, results: dict, quick: bool) -> list[Row]:
    """The pages' Images / s against the library's, server and browser on their own cores."""
    from benchmarks.app_live import measure_in_app

    measured = measure_in_app(log=_log, **settings["applive"])
    results["applive"] = measured
    return applive_rows(measured, quick)


def applive_rows(measured: dict, quick: bool) -> list[Row]:
    """The verdict uses the CPU-time ratio: on an idle core it equals the wall-clock one (the
    server has one core to itself), and unlike it, it does not move with other work on a
    shared machine (measured at a load average of 20, the wall-clock ratio went from 0.4 to
    2.4 between runs of the same code)."""
    if "skipped" in measured:
        return [Row("applive", "in the app / library alone", f"skipped: {measured['skipped']}")]
    rows = []
    for name, case in measured["cases"].items():
        app, library = case["app"]["images_per_second"], case["library"]["images_per_second"]
        has_target = "Full" in name
        rows.append(
            Row(
                "applive",
                f"in the app / library alone, {name}: images/s (ratio); by CPU time; "
                "server CPU per poll",
                f"{app:,.0f} / {library:,.0f} ({case['ratio']:.2f}x); "
                f"{case['cpu_ratio']:.2f}x; {_poll_overhead(case['overhead_cpu_ms_per_poll'])}"
                + _page_threads(case["app"]),
                f">= {MIN_APP_OVER_LIBRARY}x by CPU time" if has_target else "",
                None if quick or not has_target else case["cpu_ratio"] >= MIN_APP_OVER_LIBRARY,
            )
        )
    return rows


def _page_threads(app: dict) -> str:
    """The server's CPU per poll outside the training thread, measured directly."""
    if "page_cpu_ms_per_poll" not in app:  # measured before it was
        return ""
    return f" ({app['page_cpu_ms_per_poll']:.1f} ms outside the training thread)"


def _poll_overhead(ms: float) -> str:
    """The server's CPU per poll beyond the library's. The library's process also pays one-off
    costs (lazy imports, first calls) that the app server paid before the click, so the
    difference can come out below zero: the overhead is then too small to measure this way."""
    return f"{ms:.1f} ms" if ms > 0 else "not measurable (≤ 0 ms)"


def run_workers(settings: dict, results: dict, quick: bool) -> list[Row]:
    """A run in a worker process against the library; the server's share; memory; a kill."""
    from benchmarks.workers import measure

    measured = measure(log=_log, **settings["workers"])
    results["workers"] = measured
    return workers_rows(measured, quick)


def workers_rows(measured: dict, quick: bool) -> list[Row]:
    watched, kill = measured["watched"], measured["kill"]
    growth = watched["poll_cpu_ms_last"] / max(watched["poll_cpu_ms_first"], 1e-6)
    rows = [
        Row(
            "workers",
            "a watched run in a worker / the library alone: images/s (ratio)",
            f"{watched['images_per_second']:,.0f} / "
            f"{measured['library']['images_per_second']:,.0f} ({measured['ratio']:.2f}x)",
            f">= {MIN_APP_OVER_LIBRARY}x",
            None if quick else measured["ratio"] >= MIN_APP_OVER_LIBRARY,
        ),
        Row(
            "workers",
            "the server's share of the CPU time of server and worker while the run trains",
            f"{watched['server_share']:.1%}",
            f"<= {MAX_SERVER_CPU_SHARE:.0%}",
            None if quick else watched["server_share"] <= MAX_SERVER_CPU_SHARE,
        ),
        Row(
            "workers",
            "one poll's CPU in the server, first / last tenth of the run (growth)",
            f"{watched['poll_cpu_ms_first']:.2f} / {watched['poll_cpu_ms_last']:.2f} ms "
            f"({growth:.2f}x)",
            f"<= {MAX_POLL_GROWTH}x",
            None if quick else growth <= MAX_POLL_GROWTH,
        ),
    ]
    for name, memory in measured["two_runs_memory"].items():
        rows.append(
            Row(
                "workers",
                f"{name}, two runs training at once: RSS / PSS",
                f"{memory['rss']:.0f} / {memory['pss']:.0f} MB",
            )
        )
    for what, case in (("a worker", kill), ("the only worker", measured["kill_alone"])):
        rows.append(
            Row(
                "workers",
                f"{what} killed mid-run: its run says so / the next run trains",
                f"{case['reported_seconds']:.1f} / {case['next_run_trains_seconds']:.1f} s",
                f"next run <= {MAX_KILL_RECOVERY_SECONDS:.0f} s",
                None if quick else case["next_run_trains_seconds"] <= MAX_KILL_RECOVERY_SECONDS,
            )
        )
    return rows


def run_browser(settings: dict, results: dict, quick: bool) -> list[Row]:
    """Issue 22: what a user waits for in Chromium, each wait against its budget."""
    from benchmarks.browser_latency import (
        lines,
        measure_browser_latency,
        ratio_lines,
        where_text,
    )

    measured = measure_browser_latency(log=_log, **settings["browser_waits"])
    results["browser"] = measured
    if "skipped" in measured:
        return [Row("browser", "waits in the browser", f"skipped: {measured['skipped']}")]
    return [
        Row(
            "browser",
            line.what + " (median / p95)",
            f"{line.measured['median']:.2f} / {line.measured['p95']:.2f} s "
            f"({where_text(line.measured['parts'])})",
            line.budget,
            None if quick else line.holds,
        )
        for line in lines(measured)
    ] + [
        Row("browser", what, value, budget, None if quick else holds)
        for what, value, budget, holds in ratio_lines(measured)
    ]


RUNNERS = {
    "throughput": run_throughput,
    "eval": run_eval,
    "draw": run_draw,
    "drawn": run_drawn,
    "coldstart": run_coldstart,
    "apptest": run_apptest,
    "replay": run_replay,
    "limit": run_limit,
    "explain": run_explain,
    "livepoll": run_livepoll,
    "applive": run_applive,
    "workers": run_workers,
    "browser": run_browser,
}


# ---------------------------------------------------------------------------- report


def _ok_mark(ok: bool | None) -> str:
    return {True: "yes", False: "**NO**", None: ""}[ok]


def format_table(rows: list[Row]) -> str:
    lines = ["| what | measured | target | holds |", "|---|---|---|---|"]
    lines += [f"| {r.what} | {r.value} | {r.target} | {_ok_mark(r.ok)} |" for r in rows]
    return "\n".join(lines)


def _percent(share: float | None) -> str:
    return "an unknown share" if share is None else f"{share:.0%}"


def _fast_preset_text() -> str:
    from lenet_viz.training.config import PRESETS

    return ", ".join(f"{key}={value}" for key, value in PRESETS["fast"].items())


def format_markdown(report: dict) -> str:
    machine = report["machine"]
    load = machine.get("load_average")
    notes = [
        f"Machine: {machine['cpu']}, {machine['cores']} cores, "
        f"{', '.join(machine['simd'])}; Python {machine['python']}, torch {machine['torch']}, "
        f"{machine['torch_threads']} torch threads, OMP_WAIT_POLICY {machine['omp_wait_policy']}.",
        f"Other processes took {_percent(report.get('other_processes_cpu_share'))} of the CPU "
        f"time during the run (load average at the start: {load}); more than a few percent "
        "makes absolute times noisy, the ratios less so (measured interleaved).",
        f"Peak estimate: {machine['peak_fp32_gflops']} GFLOP/s = {machine['peak_assumption']}. "
        "Training FLOPs per image = 2 x 3 x the forward connections of `lenet-viz info`.",
        "Pipelines: each trains on N digits then tests on N/6 (an MNIST epoch's proportion). "
        "notebook = torchvision MNIST + per-sample Resize/ToTensor/Normalize + DataLoader; "
        "bare = preloaded tensors, the Trainer's optimizer and memory format, no records; "
        "Trainer = `lenet_viz.training.runner.Trainer` with every record on. Ratios are medians of "
        "interleaved pairs; the CPU-time ratio is the cross-check on a busy machine.",
        f"`train --preset fast` = {_fast_preset_text()}; wall seconds from the command's start "
        "to its last line (Python start, imports, data, training, every evaluation).",
    ]
    return "\n".join(
        [
            "# Benchmark results",
            "",
            f"`make bench` on {report['finished']} ({report['seconds']:.0f} s"
            + (", quick mode: numbers mean nothing" if report["quick"] else "")
            + ").",
            "",
            format_table([Row(**row) for row in report["rows"]]),
            "",
            *[f"- {note}" for note in notes],
            "",
        ]
    )


def with_kept_notes(table: str, path: Path) -> str:
    """The new table, followed by the hand-written part of the file at `path` (if any)."""
    old = path.read_text() if path.is_file() else ""
    if KEPT_MARKER not in old:
        return table
    return table.rstrip("\n") + "\n\n" + KEPT_MARKER + old.split(KEPT_MARKER, 1)[1]


# ---------------------------------------------------------------------------- main


def _section_list(text: str | None) -> list[str]:
    if not text:
        return []
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in SECTIONS]
    if unknown:
        raise SystemExit(
            f"error: unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}"
        )
    return names


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check the suite runs")
    parser.add_argument("--only", help=f"comma-separated sections of: {', '.join(SECTIONS)}")
    parser.add_argument("--skip", help="comma-separated sections to leave out")
    parser.add_argument(
        "--fast-seeds", help="seeds of `train --preset fast` (default 0,1,2; quick: 0)"
    )
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write JSON")
    parser.add_argument(
        "--markdown",
        type=Path,
        help=f"where to write the table (default for a full run of every section: "
        f"{DEFAULT_MARKDOWN.relative_to(HERE.parent)})",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from lenet_viz.cli import set_openmp_wait_policy

    # As `lenet_viz.cli.main` does, before torch loads: OpenMP threads spin on an idle machine
    # and sleep on a busy one. The CLI subprocesses choose for themselves.
    chosen_policy = set_openmp_wait_policy()
    args = parse_args(argv)
    only, skip = _section_list(args.only), _section_list(args.skip)
    sections = [s for s in (only or SECTIONS) if s not in skip]
    seeds_text = args.fast_seeds or ("0" if args.quick else "0,1,2")
    seeds = [int(s) for s in seeds_text.split(",") if s.strip()]
    settings = QUICK if args.quick else FULL

    from benchmarks.machine import OtherLoad, describe_machine, load_average

    started = time.perf_counter()
    other_load = OtherLoad().start()
    results: dict = {"machine": describe_machine()}
    rows: list[Row] = []
    errors: dict[str, str] = {}
    for section in sections:
        _log(f"[{section}]")
        tick = time.perf_counter()
        try:
            if section == "fast":
                child_env = dict(os.environ)
                if chosen_policy:
                    child_env.pop("OMP_WAIT_POLICY")
                rows += run_fast(settings, results, args.quick, seeds, child_env)
            else:
                rows += RUNNERS[section](settings, results, args.quick)
        except Exception as error:  # report it and go on with the other sections
            errors[section] = f"{type(error).__name__}: {error}"
            _log(traceback.format_exc())
            rows.append(Row(section, f"{section} (failed)", f"error: {errors[section]}"))
        _log(f"  ({time.perf_counter() - tick:.1f} s)")
    report = {
        "quick": args.quick,
        "sections": sections,
        "finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": round(time.perf_counter() - started, 1),
        "load_average_at_end": load_average(),
        "other_processes_cpu_share": other_load.share(),
        "machine": results.pop("machine"),
        "results": results,
        "errors": errors,
        "rows": [asdict(row) for row in rows],
        "targets_hold": None if args.quick else all(r.ok is not False for r in rows),
    }
    print(format_table(rows), flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    complete = not args.quick and sections == list(SECTIONS)
    markdown = args.markdown or (DEFAULT_MARKDOWN if complete else None)
    if markdown is not None:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(with_kept_notes(format_markdown(report), markdown))
    _log(f"wrote {args.json}" + (f" and {markdown}" if markdown else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
