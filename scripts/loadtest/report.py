"""The figures of a load test, what fails, the printed table and the JSON."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

from loadtest.roles import ALL_ROLES, TRAINING_ROLES, assign_roles
from loadtest.rounds import SETTLE_SECONDS, Round, Settings
from loadtest.server import Monitor, server_tracebacks
from loadtest.session import Session
from loadtest.train_page import status_of


def percentile(values: list[float], fraction: float) -> float | None:
    """The nearest-rank percentile (fraction in 0..1) of `values`; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def confirmed_running_intervals(reads: list[tuple[float, str | None]]) -> list[tuple[float, float]]:
    """When one session's run certainly held a training slot, from its page's status reads.

    `reads` are (time read, progress text) in time order. A page can be stale: it shows what the
    server said at its last refresh. But if two consecutive "running" reads differ, the page was
    redrawn in between, still "running", so the run held its slot from before the first read
    until after it (a trainer takes its slot once and keeps it until the run ends). In a streak
    of "running" reads t0..tk, every read followed by a different one is thus certain: the
    interval is [t0, tm], tm the last read whose text differs from the streak's last text.
    """
    intervals = []
    streak: list[tuple[float, str]] = []
    for moment, text in [*reads, (math.inf, None)]:
        if status_of(text) == "running":
            streak.append((moment, text))
            continue
        if streak:
            last_text = streak[-1][1]
            changed = [t for t, text_then in streak if text_then != last_text]
            if changed:
                intervals.append((streak[0][0], changed[-1]))
        streak = []
    return intervals


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    """The largest number of closed intervals that share one moment."""
    events = [(start, 0) for start, _ in intervals] + [(end, 1) for _, end in intervals]
    count = best = 0
    for _, kind in sorted(events):  # at equal times, starts (0) come before ends (1)
        count += 1 if kind == 0 else -1
        best = max(best, count)
    return best


def queue_figures(sessions: list[Session], capacity: int) -> tuple[dict, list[str]]:
    """What the trainers' pages showed of the queue, and whether it held."""
    trainers = [session for session in sessions if session.role in TRAINING_ROLES]
    reads = [read for session in trainers for read in session.queued_reads]
    intervals = [
        interval
        for session in trainers
        for interval in confirmed_running_intervals(session.status_reads)
    ]
    figures = {
        "queue_max": max((waiting for _, waiting, _ in reads), default=0),
        "running_max_server": max((busy for _, _, busy in reads), default=0),
        "running_max_pages": max_overlap(intervals),
        "sessions_seen_queued": sum(bool(session.queued_reads) for session in trainers),
    }
    failures = []
    if figures["running_max_server"] > capacity:
        failures.append(
            f"the server said {figures['running_max_server']} runs were training at once "
            f"(LENET_VIZ_MAX_RUNS={capacity})"
        )
    if figures["running_max_pages"] > capacity:
        failures.append(
            f"{figures['running_max_pages']} pages showed their run training at the same moment "
            f"(LENET_VIZ_MAX_RUNS={capacity})"
        )
    finished = sum(session.runs_trained for session in trainers)
    if finished > capacity and not figures["sessions_seen_queued"]:
        failures.append(f"{finished} runs started together, yet none was ever seen queued")
    return figures, failures


def queue_figures_of_rounds(rounds: list[Round], capacity: int) -> tuple[dict, list[str]]:
    """queue_figures of every round: each figure's largest value, each failure with its round."""
    queue, failures = {}, []
    for this_round in rounds:
        seen, round_failures = queue_figures(this_round.sessions, capacity)
        failures += [f"round {this_round.number}: {failure}" for failure in round_failures]
        for name, value in seen.items():
            queue[name] = max(queue.get(name, 0), value)
    return queue, failures


def server_failures(monitor: Monitor, tracebacks: int) -> list[str]:
    """Failed health checks, and tracebacks in the server's log."""
    failures = []
    if monitor.health_failures:
        failures.append(
            f"the health endpoint failed {len(monitor.health_failures)} time(s), at "
            f"{monitor.health_failures[:10]} s"
        )
    if tracebacks:
        failures.append(f"{tracebacks} traceback(s) in the server log")
    return failures


def memory_failures(rounds: list[dict], limit_mb: float, growth_mb: float) -> list[str]:
    """Memory over the limit, or growing from the first round of the same load to the last."""
    failures = []
    for number, figures in enumerate(rounds, start=1):  # every round, even one cut short
        if figures["peak_rss_mb"] > limit_mb:
            failures.append(
                f"round {number}: the server used {figures['peak_rss_mb']:.0f} MB "
                f"(limit {limit_mb:.0f} MB)"
            )
    finished = [figures for figures in rounds if figures.get("finished", True)]
    if len(finished) >= 2:
        first, last = finished[0], finished[-1]
        for name in ("peak_rss_mb", "end_rss_mb"):
            if last[name] > first[name] + growth_mb:
                failures.append(
                    f"memory grew from the first round to the last: {name} "
                    f"{first[name]:.0f} MB -> {last[name]:.0f} MB (allowed +{growth_mb:.0f} MB)"
                )
    return failures


def round_figures(this_round: Round, monitor: Monitor) -> dict:
    ended = this_round.ended or time.monotonic()
    return {
        "finished": this_round.finished,
        "seconds": round(ended - this_round.started, 1),
        "peak_rss_mb": round(
            monitor.peak_between(this_round.started, ended + SETTLE_SECONDS) / 2**20, 1
        ),
        "end_rss_mb": round(this_round.end_rss_mb or 0, 1),
    }


def summarize(rounds: list[Round], settings: Settings, monitor: Monitor, log_text: str) -> dict:
    everyone = [session for this_round in rounds for session in this_round.sessions]
    loads = [seconds for session in everyone for seconds in session.load_seconds]
    errors = [error for session in everyone for error in session.errors]
    leaks = [leak for session in everyone for leak in session.leaks]
    tracebacks, clients_gone = server_tracebacks(log_text)
    queue, queue_failures = queue_figures_of_rounds(rounds, settings.max_runs)
    rss = [value for _, value in monitor.rss]

    def total(name: str) -> int:
        return sum(getattr(session, name) for session in everyone)

    return {
        "sessions": settings.sessions,
        "rounds": sum(this_round.finished for this_round in rounds),
        "roles": {
            role: count
            for role in ALL_ROLES
            if (count := assign_roles(settings.sessions).count(role))
        },
        "max_runs": settings.max_runs,
        "pages_visited": total("pages_visited"),
        "clicks_repeated": total("clicks_repeated"),
        "predictions": total("predictions"),
        "runs_trained": total("runs_trained"),
        "reloads_reattached": total("reattached"),
        "tabs_closed_while_paused": total("closed"),
        **queue,
        "errors": len(errors),
        "isolation_leaks": len(leaks),
        "health_checks": monitor.health_checks,
        "health_failures": len(monitor.health_failures),
        "server_log_tracebacks": tracebacks,
        "server_log_clients_gone": clients_gone,
        "peak_rss_mb": round(max(rss, default=0) / 2**20, 1),
        "final_rss_mb": round((rss[-1] if rss else 0) / 2**20, 1),
        "rss_samples": len(rss),
        "per_round": [round_figures(this_round, monitor) for this_round in rounds],
        "page_load_p50_s": round(percentile(loads, 0.5) or 0, 2),
        "page_load_p95_s": round(percentile(loads, 0.95) or 0, 2),
        "page_loads": len(loads),
        "run_still_max_s": round(
            max((t for session in everyone for t in session.still_seconds), default=0), 1
        ),
        "failures": queue_failures + errors + leaks + server_failures(monitor, tracebacks),
    }


def add_failures(
    figures: dict, problems: list[str], rounds_wanted: int, limit_mb: float, growth_mb: float
) -> None:
    """What cut the load test short first, then its figures' failures, rounds that did not run,
    and memory."""
    figures["failures"] = problems + figures["failures"]
    if figures["rounds"] < rounds_wanted and not problems:
        figures["failures"].append(f"only {figures['rounds']} of {rounds_wanted} rounds ran")
    figures["failures"] += memory_failures(figures["per_round"], limit_mb, growth_mb)


def add_machine_figures(figures: dict, started: float, load_before: float) -> None:
    """How long it all took, and how busy the machine was."""
    figures["total_seconds"] = round(time.monotonic() - started, 1)
    figures["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    figures["cpu_count"] = os.cpu_count()


def table_rows(figures: dict) -> list[tuple[str, object]]:
    rounds = figures.get("per_round", [])
    return [
        ("sessions at once", f"{figures['sessions']} {figures.get('roles', '')}"),
        (
            "reloaded mid-run and got the run back · tabs closed while paused",
            f"{figures.get('reloads_reattached', 0)} · "
            f"{figures.get('tabs_closed_while_paused', 0)}",
        ),
        ("rounds", figures["rounds"]),
        ("pages visited", figures["pages_visited"]),
        ("sidebar clicks made twice (the first one was lost)", figures.get("clicks_repeated", 0)),
        ("predictions made", figures["predictions"]),
        ("runs trained", figures["runs_trained"]),
        ("LENET_VIZ_MAX_RUNS", figures["max_runs"]),
        ("queue max (waiting)", figures.get("queue_max", 0)),
        ("training at once, server", figures.get("running_max_server", 0)),
        ("training at once, pages", figures.get("running_max_pages", 0)),
        ("errors", figures["errors"]),
        ("isolation leaks", figures["isolation_leaks"]),
        ("health checks failed", f"{figures['health_failures']} of {figures['health_checks']}"),
        (
            "server log: tracebacks · of a browser tab gone away (not failures)",
            f"{figures['server_log_tracebacks']} · {figures.get('server_log_clients_gone', 0)}",
        ),
        ("peak RSS (MB)", figures["peak_rss_mb"]),
        ("final RSS (MB)", figures["final_rss_mb"]),
        (
            "per round: s, peak MB, end MB",
            [[r["seconds"], r["peak_rss_mb"], r["end_rss_mb"]] for r in rounds],
        ),
        ("page load p50 / p95 (s)", f"{figures['page_load_p50_s']} / {figures['page_load_p95_s']}"),
        ("longest a run's status stood still (s)", figures.get("run_still_max_s")),
        ("total time (s)", figures.get("total_seconds")),
        ("load average (1 min) before/after", figures.get("load_average")),
        ("result", "PASS" if not figures["failures"] else "FAIL"),
    ]


def format_table(rows: list[tuple[str, object]]) -> str:
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)


def write_report(figures: dict, output: Path) -> None:
    """The figures as JSON to `output`, then the table and every failure printed."""
    output.write_text(json.dumps(figures, indent=2) + "\n")
    rows = class_table_rows if figures.get("clients") == "light" else table_rows
    print(format_table(rows(figures)))
    for failure in figures["failures"]:
        print(f"FAILED: {failure}")
    print(f"figures written to {output}")


def summarize_class(students: list, monitor: Monitor, log_text: str, max_runs: int) -> dict:
    """The figures of a class of light sessions (loadtest.classroom), and what fails."""
    loads = [seconds for student in students for seconds in student.client.load_seconds]
    waits = [student.queue_wait for student in students if student.queue_wait is not None]
    started = sum(student.started is not None for student in students)
    finished = sum(student.run_finished for student in students)
    errors = [error for student in students for error in student.errors]
    reads = [read for student in students for read in student.queued_reads]
    tracebacks, clients_gone = server_tracebacks(log_text)
    rss = [value for _, value in monitor.rss]
    workers_rss = [
        tree - own for (_, tree), own in zip(monitor.rss, monitor.server_rss, strict=False)
    ]
    # CPU from the start of the class (after the warm-up), per process.
    spent = {pid: seconds - monitor.cpu_start.get(pid, 0.0) for pid, seconds in monitor.cpu.items()}
    cpu_server = spent.get(monitor.pid, 0.0)
    cpu_workers = sum(seconds for pid, seconds in spent.items() if pid != monitor.pid)
    seconds = monitor.load_seconds or 0.0
    # The cores the server and its workers kept busy during the class, and so how many
    # students one core served at that pace.
    cores_busy = (cpu_server + cpu_workers) / seconds if seconds else 0.0
    figures = {
        "clients": "light",
        "sessions": len(students),
        "max_runs": max_runs,
        "pages_visited": len(loads),
        "predictions": sum(student.prediction is not None for student in students),
        "predictions_right": sum(student.prediction == student.digit for student in students),
        "runs_started": started,
        "runs_finished": finished,
        "runs_lost": started - finished,
        "queue_max": max((waiting for _, waiting, _ in reads), default=0),
        "running_max_server": max((busy for _, _, busy in reads), default=0),
        "queue_wait_p50_s": round(percentile(waits, 0.5) or 0, 1),
        "queue_wait_p95_s": round(percentile(waits, 0.95) or 0, 1),
        "queue_wait_max_s": round(max(waits, default=0), 1),
        "page_load_p50_s": round(percentile(loads, 0.5) or 0, 2),
        "page_load_p95_s": round(percentile(loads, 0.95) or 0, 2),
        "page_load_max_s": round(max(loads, default=0), 2),
        "page_loads": len(loads),
        "errors": len(errors),
        "health_checks": monitor.health_checks,
        "health_failures": len(monitor.health_failures),
        "server_log_tracebacks": tracebacks,
        "server_log_clients_gone": clients_gone,
        "server_rss_peak_mb": round(max(monitor.server_rss, default=0) / 2**20, 1),
        "workers_rss_peak_mb": round(max(workers_rss, default=0) / 2**20, 1),
        "peak_rss_mb": round(max(rss, default=0) / 2**20, 1),
        "final_rss_mb": round((rss[-1] if rss else 0) / 2**20, 1),
        "cpu_server_s": round(cpu_server, 1),
        "cpu_workers_s": round(cpu_workers, 1),
        "cpu_per_student_s": round((cpu_server + cpu_workers) / max(1, len(students)), 2),
        "class_seconds": round(seconds, 1),
        "server_core_share": round(cpu_server / seconds, 2) if seconds else None,
        "cores_busy": round(cores_busy, 2),
        "students_per_core": round(len(students) / cores_busy, 1) if cores_busy else None,
        "failures": errors + server_failures(monitor, tracebacks),
    }
    if figures["runs_lost"]:
        figures["failures"].append(f"{figures['runs_lost']} of {started} runs did not finish")
    if figures["running_max_server"] > max_runs:
        figures["failures"].append(
            f"the server said {figures['running_max_server']} runs were training at once "
            f"(LENET_VIZ_MAX_RUNS={max_runs})"
        )
    if figures["runs_lost"] or figures["failures"]:
        figures["students_per_core"] = None  # not served: no claim
    return figures


def class_table_rows(figures: dict) -> list[tuple[str, object]]:
    return [
        ("light sessions at once (no browser)", figures["sessions"]),
        ("LENET_VIZ_MAX_RUNS · cores", f"{figures['max_runs']} · {figures.get('cpu_count')}"),
        ("script runs asked for (pages opened, clicks, choices)", figures["pages_visited"]),
        ("drawings read right", f"{figures['predictions_right']} of {figures['sessions']}"),
        (
            "runs started · finished · lost",
            f"{figures['runs_started']} · {figures['runs_finished']} · {figures['runs_lost']}",
        ),
        (
            "queue max (waiting) · training at once",
            f"{figures['queue_max']} · {figures['running_max_server']}",
        ),
        (
            "queue wait p50 / p95 / max (s)",
            f"{figures['queue_wait_p50_s']} / {figures['queue_wait_p95_s']} / "
            f"{figures['queue_wait_max_s']}",
        ),
        (
            "page load p50 / p95 / max (s)",
            f"{figures['page_load_p50_s']} / {figures['page_load_p95_s']} / "
            f"{figures['page_load_max_s']}",
        ),
        ("errors", figures["errors"]),
        ("health checks failed", f"{figures['health_failures']} of {figures['health_checks']}"),
        (
            "server log: tracebacks · of a client gone away (not failures)",
            f"{figures['server_log_tracebacks']} · {figures['server_log_clients_gone']}",
        ),
        (
            "RSS peak: server · workers · all (MB)",
            f"{figures['server_rss_peak_mb']} · {figures['workers_rss_peak_mb']} · "
            f"{figures['peak_rss_mb']}",
        ),
        (
            "CPU during the class: server · workers · per student (s)",
            f"{figures['cpu_server_s']} · {figures['cpu_workers_s']} · "
            f"{figures['cpu_per_student_s']}",
        ),
        ("CPU of the light clients themselves (s)", figures.get("cpu_clients_s")),
        ("the class's time, from the first connection (s)", figures.get("class_seconds")),
        (
            "cores kept busy: server process · all",
            f"{figures.get('server_core_share')} · {figures.get('cores_busy')}",
        ),
        ("students per busy core (all served, 0 errors)", figures["students_per_core"]),
        ("total time (s)", figures.get("total_seconds")),
        ("load average (1 min) before/after", figures.get("load_average")),
        ("result", "PASS" if not figures["failures"] else "FAIL"),
    ]
