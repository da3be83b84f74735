"""The load test's command line: `make loadtest`, or `python scripts/loadtest --help`."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent.parent
if not __package__:  # `python scripts/loadtest`: import this folder as the package `loadtest`
    sys.path[0] = str(SCRIPTS)
sys.path.insert(0, str(SCRIPTS.parent))  # devtools and lenet_viz

import loadtest  # noqa: E402
from devtools.app_server import free_port, url_of, wait_until_serving  # noqa: E402
from loadtest import OUTPUT, say  # noqa: E402
from loadtest.classroom import run_class  # noqa: E402
from loadtest.report import (  # noqa: E402
    add_failures,
    add_machine_figures,
    summarize,
    summarize_class,
    write_report,
)
from loadtest.rounds import Settings, run_rounds  # noqa: E402
from loadtest.server import Monitor, app_under_load, missing_requirements  # noqa: E402


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=loadtest.__doc__.split("\n\n")[0])
    parser.add_argument(
        "--clients",
        choices=("chromium", "light"),
        default="chromium",
        help="chromium: browser sessions (8 by default, 2 rounds); light: Streamlit's websocket "
        "protocol without a browser (loadtest.light), one class at once (30 by default)",
    )
    parser.add_argument("--sessions", type=int, default=None, help="sessions at once")
    parser.add_argument("--rounds", type=int, default=None, help="rounds of the same load")
    parser.add_argument(
        "--quick", action="store_true", help="one short round (1 drawing, 1 tour): a smoke test"
    )
    parser.add_argument("--max-runs", type=int, default=1, help="LENET_VIZ_MAX_RUNS")
    parser.add_argument("--time-limit", type=float, default=900, help="seconds, for everything")
    parser.add_argument("--rss-limit-mb", type=float, default=4096)
    parser.add_argument(
        "--growth-mb", type=float, default=200, help="allowed RSS growth from round 1 to the last"
    )
    parser.add_argument("--output", type=Path, default=OUTPUT / "loadtest.json")
    args = parser.parse_args(argv)
    if args.sessions is None:
        args.sessions = 30 if args.clients == "light" else 8
    if args.sessions < 1 or args.max_runs < 1:
        parser.error("--sessions and --max-runs must be at least 1")
    if args.rounds is None:
        args.rounds = 1 if args.quick else 2
    return args


def settings_of(args: argparse.Namespace) -> Settings:
    return Settings(
        sessions=args.sessions,
        rounds=args.rounds,
        draw_repeats=1 if args.quick else 3,
        switch_tours=1 if args.quick else 2,
        max_runs=args.max_runs,
    )


def load_the_app(
    args: argparse.Namespace, settings: Settings, rounds: list, problems: list[str]
) -> tuple[Monitor, str]:
    """Start the app, run the rounds against it (appending to `rounds`, and to `problems` what
    cut them short), stop it; its monitor and its log. With light clients, `rounds` gets the
    class's students."""
    log = args.output.with_name(args.output.stem + "-server.log")  # its own, next to the JSON
    stacks = args.output.with_name(args.output.stem + "-stacks.txt")
    port = free_port()
    url = url_of(port)
    with app_under_load(port, log, stacks, args.max_runs) as server:
        monitor = Monitor(server.pid, url)
        try:
            say(f"starting the app at {url} (LENET_VIZ_MAX_RUNS={args.max_runs})")
            wait_until_serving(server, port, log)
            monitor.start()
            if args.clients == "light":
                say("the app answers; the class connects")
                asyncio.run(class_at_once(url, args, monitor, rounds))
            else:
                say("the app answers; opening the browser")
                asyncio.run(
                    asyncio.wait_for(
                        run_rounds(url, settings, monitor, rounds), timeout=args.time_limit
                    )
                )
        except TimeoutError:
            problems.append(f"the load test did not end within its limit of {args.time_limit} s")
        except Exception as error:
            problems.append(f"{type(error).__name__}: {error}")
        finally:
            monitor.stop()
    return monitor, log.read_text(errors="replace")


async def class_at_once(
    url: str, args: argparse.Namespace, monitor: Monitor, students: list
) -> None:
    """Light clients: a warm-up visit (it loads the libraries and the models), then the class."""
    from loadtest.light import LightSession

    warm = LightSession(url, "warm-up")
    try:
        await warm.open("", 300)
        await warm.open("draw", 300)
    finally:
        await warm.close()
    monitor.cpu_start = monitor.cpu_now()
    started = time.monotonic()
    try:
        await run_class(url, args.sessions, args.time_limit, students)
    finally:
        monitor.cpu_now()
        # Until the last session was done (a failed one waits for its time limit).
        ends = [student.ended for student in students if student.ended and not student.errors]
        monitor.load_seconds = max(ends, default=time.monotonic()) - started


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if problem := missing_requirements(browser=args.clients == "chromium"):
        print(f"error: {problem}", file=sys.stderr)
        return 2
    settings = settings_of(args)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    rounds, problems = [], []
    clients_cpu = time.process_time()
    monitor, log_text = load_the_app(args, settings, rounds, problems)
    if args.clients == "light":
        figures = summarize_class(rounds, monitor, log_text, args.max_runs)
        figures["failures"] = problems + figures["failures"]
        figures["cpu_clients_s"] = round(time.process_time() - clients_cpu, 1)
    else:
        figures = summarize(rounds, settings, monitor, log_text)
        add_failures(figures, problems, settings.rounds, args.rss_limit_mb, args.growth_mb)
    add_machine_figures(figures, started, load_before)
    figures["passed"] = not figures["failures"]
    write_report(figures, args.output)
    return 0 if figures["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
