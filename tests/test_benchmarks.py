"""The benchmark suite runs end to end in --quick mode and reports a well-formed table and JSON.

No assertion here is about speed: benchmarks are not tests, and the quick sizes make every
number meaningless. What is checked is that each section measured something and said so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.__main__ import KEPT_MARKER, Row, _section_list, format_table, with_kept_notes
from benchmarks.machine import fp32_flops_per_cycle

REPO = Path(__file__).resolve().parent.parent


def run_suite(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict, str]:
    json_path, markdown_path = tmp_path / "latest.json", tmp_path / "RESULTS.md"
    env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", *args]
        + ["--json", str(json_path), "--markdown", str(markdown_path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result, json.loads(json_path.read_text()), markdown_path.read_text()


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    """One quick run of every section but the four that start Streamlit (tested below)."""
    return run_suite(
        tmp_path_factory.mktemp("bench"), "--skip", "coldstart,apptest,applive,browser"
    )


def table_rows(text: str) -> list[list[str]]:
    lines = [line for line in text.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def test_quick_run_prints_a_table_with_a_row_per_measurement(quick_report):
    result, report, markdown = quick_report
    rows = table_rows(result.stdout)
    assert rows[0] == ["what", "measured", "target", "holds"]
    assert len(rows) - 2 == len(report["rows"])  # header and separator
    assert report["errors"] == {}
    assert report["quick"] is True and report["targets_hold"] is None
    share = report["other_processes_cpu_share"]
    assert share is None or 0 <= share <= 1
    assert all(row["ok"] is None for row in report["rows"])  # no verdicts in quick mode
    assert "| what | measured | target | holds |" in markdown
    assert "quick mode" in markdown


def test_throughput_has_three_pipelines_at_three_batch_sizes_and_ratios(quick_report):
    _, report, _ = quick_report
    by_batch = report["results"]["throughput"]["by_batch"]
    assert sorted(by_batch, key=int) == ["32", "128", "256"]
    for entry in by_batch.values():
        assert set(entry["images_per_second"]) == {"notebook", "bare", "trainer"}
        assert all(v > 0 for v in entry["images_per_second"].values())
        assert set(entry["images_per_cpu_second"]) == set(entry["images_per_second"])
        assert entry["trainer_over_bare"] > 0 and entry["trainer_over_bare_cpu"] > 0
        assert entry["trainer_over_notebook"] > 0
    whats = [row["what"] for row in report["rows"]]
    assert "Trainer / notebook, batch 256" in whats
    assert any(what.startswith("Trainer / bare, batch 128") for what in whats)


def test_fast_preset_eval_draw_and_limit_sections_report_numbers(quick_report):
    _, report, _ = quick_report
    results = report["results"]
    (fast,) = results["fast"]["runs"]
    assert fast["seed"] == 0 and 0 <= fast["test_acc"] <= 1 and fast["epochs"] == 1
    assert fast["wall_seconds"] >= fast["reported_seconds"] > 0
    assert results["eval"]["digits"] == 500 and results["eval"]["seconds_median"] > 0
    draw = results["draw"]
    assert 0 < draw["p50_ms"] <= draw["p95_ms"] <= draw["max_ms"]
    limit = results["limit"]
    assert limit["training_flops_per_image"] == 6 * limit["forward_macs_per_image"]
    assert 0 < limit["share_of_peak"]["bare"] < 1
    machine = report["machine"]
    assert machine["cores"] >= 1 and machine["torch_threads"] >= 1


def test_drawn_section_reports_accuracy_per_digit_and_the_confusions(quick_report):
    result, report, _ = quick_report
    drawn = report["results"]["drawn"]
    assert 0 <= drawn["accuracy"] <= 1 and drawn["n"] > 0
    assert sorted(int(d) for d in drawn["by_digit"]) == list(range(10))
    matrix = drawn["confusion_matrix"]
    assert len(matrix) == 10 and sum(map(sum, matrix)) == drawn["n"]
    assert sum(matrix[d][d] for d in range(10)) == round(drawn["accuracy"] * drawn["n"])
    whats = [row["what"] for row in report["rows"]]
    assert any(what.startswith("drawn digits (") for what in whats)
    assert any("confusions" in what for what in whats)
    assert any(what.startswith("MNIST test") for what in whats)
    assert "true \\ read" in result.stderr  # the confusion table, printed


def test_explain_section_reports_robustness_saliency_and_top_digits(quick_report):
    _, report, _ = quick_report
    explain = report["results"]["explain"]
    assert explain["sweep_points"] == 13  # quick: the rotation sweep only
    assert explain["top_digits_searched"] == 500
    for arch in ("modern", "faithful"):
        assert explain[f"robustness_{arch}_seconds"] > 0
        assert explain[f"robustness_{arch}_cpu_seconds"] > 0
        for name in ("occlusion", "gradient", "explorer"):
            assert 0 < explain[f"{name}_{arch}_median_ms"] <= explain[f"{name}_{arch}_max_ms"]
    whats = [row["what"] for row in report["rows"] if row["section"] == "explain"]
    assert any(what.startswith("robustness curves, faithful net") for what in whats)


def test_workers_section_reports_throughput_cpu_share_memory_and_a_kill(quick_report):
    _, report, _ = quick_report
    workers = report["results"]["workers"]
    assert workers["watched"]["status"] == "completed"
    assert workers["watched"]["images_per_second"] > 0 and workers["ratio"] > 0
    assert 0 < workers["watched"]["server_share"] < 1
    assert set(workers["two_runs_memory"]) == {"server", "worker 1", "worker 2"}
    assert workers["kill"]["status"] == "error"
    assert workers["kill"]["message"].startswith("the training process stopped: it was killed")
    rows = [row for row in report["rows"] if row["section"] == "workers"]
    assert workers["kill_alone"]["status"] == "error"
    assert len(rows) == 8


def test_app_sections_start_streamlit_and_rerun_the_draw_page(tmp_path):
    _, report, _ = run_suite(tmp_path, "--only", "coldstart,apptest")
    assert report["errors"] == {}
    cold = report["results"]["coldstart"]
    assert cold["seconds"] == max(cold["health_seconds"], cold["page_seconds"]) > 0
    apptest = report["results"]["apptest"]
    if "skipped" not in apptest:
        assert apptest["first_run_seconds"] > 0 and apptest["rerun_seconds_median"] > 0


def test_live_poll_section_measures_both_pages_at_each_size(quick_report):
    _, report, _ = quick_report
    pages = report["results"]["livepoll"]["pages"]
    assert {page: entry["runs"] for page, entry in pages.items()} == {"train": 1, "compare": 4}
    for entry in pages.values():
        assert sorted(entry["by_size"], key=int) == ["200", "2000"]
        for size in entry["by_size"].values():
            assert 0 < size["live_ms_median"] <= size["live_ms_max"]
            assert size["before_ms_median"] > 0 and size["bytes_sent"] > 0
    whats = [row["what"] for row in report["rows"] if row["section"] == "livepoll"]
    assert len(whats) == 2 and all("server CPU per poll" in what for what in whats)


def test_app_live_section_trains_in_the_app_and_alone(tmp_path):
    from benchmarks.app_live import taskset_available
    from devtools.app_server import chromium_problem

    if not taskset_available() or chromium_problem():
        pytest.skip(f"needs taskset, 2 cores and Chromium: {chromium_problem() or 'no taskset'}")
    _, report, _ = run_suite(tmp_path, "--only", "applive")
    assert report["errors"] == {}
    (case,) = report["results"]["applive"]["cases"].values()
    # the notebook's experiment raises Tiny to Medium, its smallest size that shows its lesson
    assert case["app"]["iterations"] == case["library"]["iterations"] == 313  # 10,000 / 32
    assert case["app"]["images_per_second"] > 0 and case["library"]["images_per_second"] > 0
    assert case["ratio"] > 0 and case["cpu_ratio"] > 0
    # a Tiny run may end before the first sample of its thread: 0 is possible
    assert 0 <= case["app"]["training_thread_cpu_seconds"] <= case["app"]["cpu_seconds"]
    assert case["app"]["page_cpu_ms_per_poll"] >= 0


def test_peak_estimate_follows_the_simd_flags():
    assert fp32_flops_per_cycle("AuthenticAMD", 25, {"avx2", "fma", "avx512f"})[0] == 32
    assert fp32_flops_per_cycle("GenuineIntel", 6, {"avx2", "fma", "avx512f"})[0] == 64
    assert fp32_flops_per_cycle("GenuineIntel", 6, {"avx2", "fma"})[0] == 32
    assert fp32_flops_per_cycle("", None, set())[0] == 8


def test_a_new_table_keeps_the_hand_written_notes_below_the_marker(tmp_path):
    results = tmp_path / "RESULTS.md"
    assert with_kept_notes("# new\n", results) == "# new\n"  # no file yet
    results.write_text(f"# old table\n\n{KEPT_MARKER}\n\n## Design measurements\n- x\n")
    kept = with_kept_notes("# new table\n", results)
    assert kept == f"# new table\n\n{KEPT_MARKER}\n\n## Design measurements\n- x\n"
    assert KEPT_MARKER in (Path(__file__).parent.parent / "benchmarks" / "RESULTS.md").read_text()


def test_table_marks_missed_targets_and_unknown_sections_are_refused():
    table = format_table([Row("eval", "full evaluation", "0.9 s", "<= 0.5 s", False)])
    assert "| full evaluation | 0.9 s | <= 0.5 s | **NO** |" in table
    with pytest.raises(SystemExit, match="unknown section"):
        _section_list("throughput,warp-drive")


def test_openmp_threads_sleep_only_on_a_busy_machine_and_a_set_policy_is_kept(monkeypatch):
    import lenet_viz.cli as cli

    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.setattr(cli, "other_runnable_tasks", lambda: 0.1)
    assert cli.set_openmp_wait_policy() is None and "OMP_WAIT_POLICY" not in os.environ
    monkeypatch.setattr(cli, "other_runnable_tasks", lambda: 3.0)
    assert cli.set_openmp_wait_policy() == "PASSIVE" == os.environ["OMP_WAIT_POLICY"]
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    assert cli.set_openmp_wait_policy() is None and os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
