"""The load test's own logic (scripts/loadtest/), and one small run of it in the browser.

The full load (`make loadtest`: 8 sessions, two rounds) takes minutes; here its judgements are
checked on made-up observations, and `--sessions 2 --quick` runs it end to end once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "loadtest"  # a package: `python scripts/loadtest` runs it
sys.path.insert(0, str(SCRIPT.parent))

from loadtest import light, report, roles, server, train_page  # noqa: E402
from loadtest.__main__ import parse_args  # noqa: E402
from loadtest.session import Session  # noqa: E402

# What the Train page shows (ui/runs/live_panel.py's progress_panel), as the browser reads it.
RUNNING = "Training · iteration {} of 8 · epoch 0.12"
WAITING = "Waiting for a free training slot · iteration 0 of 8 · epoch 0.00"
FINISHED = "Finished · iteration 8 of 8 · epoch 1.00"
QUEUED_MESSAGE = (
    "Queued: position 2 of 3 waiting. The server trains 1 run(s) at a time (1 busy now); "
    "yours starts by itself when a slot frees up. Stop cancels it."
)


def run_loadtest(tmp_path, *arguments: str):
    """`scripts/loadtest` with these arguments, which must pass: its output and its figures."""
    output = tmp_path / "loadtest.json"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *arguments, "--output", str(output)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result, json.loads(output.read_text())


def test_eight_sessions_include_a_reload_and_a_closed_tab():
    assigned = roles.assign_roles(8)
    assert (assigned.count("train"), assigned.count("draw"), assigned.count("switch")) == (2, 2, 2)
    assert assigned[-2:] == ["reload", "closetab"]
    assert sum(role in roles.TRAINING_ROLES for role in assigned) == 3  # 3 runs to the end
    assert roles.assign_roles(2) == ["train", "draw"]
    assert "reload" not in roles.assign_roles(4)


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(10, 0, -1)]
    assert report.percentile(values, 0.5) == 5
    assert report.percentile(values, 0.95) == 10
    assert report.percentile([3.0], 0.95) == 3
    assert report.percentile([], 0.5) is None


def test_status_and_queue_message_are_read_from_the_page_text():
    assert train_page.status_of(RUNNING.format(1)) == "running"
    assert train_page.status_of(WAITING) == "queued"
    assert train_page.status_of(FINISHED) == "finished"
    assert train_page.status_of(None) is None
    assert train_page.parse_queued(QUEUED_MESSAGE) == (2, 3, 1)
    assert train_page.parse_queued("Choose the settings and press Start") is None


def test_a_run_counts_as_training_only_where_a_later_redraw_proves_it():
    reads = [
        (0.0, WAITING),
        (1.0, RUNNING.format(1)),
        (2.0, RUNNING.format(3)),
        (3.0, RUNNING.format(4)),
        (4.0, RUNNING.format(4)),  # maybe not redrawn since 3.0: 3.0 and 4.0 are not certain
        (5.0, FINISHED),
        (6.0, RUNNING.format(5)),  # a lone read: not certain either
    ]
    assert report.confirmed_running_intervals(reads) == [(1.0, 2.0)]
    assert report.confirmed_running_intervals([(0.0, RUNNING.format(1))] * 3) == []


def test_a_stale_page_does_not_look_like_two_runs_at_once():
    """Run A ends at 5 s and B starts; A's page still shows its last status at 6 s. Only
    statuses proven by a later redraw count, so the runs never seem to overlap."""
    a = [(float(t), RUNNING.format(t)) for t in range(1, 6)] + [(6.0, RUNNING.format(5))]
    a.append((7.0, FINISHED))
    b = [(5.5, WAITING), (6.0, RUNNING.format(1)), (7.0, RUNNING.format(2))]
    intervals = report.confirmed_running_intervals(a) + report.confirmed_running_intervals(b)
    assert report.max_overlap(intervals) == 1
    # Two runs that really train at the same time are caught.
    c = [(2.0, RUNNING.format(1)), (3.0, RUNNING.format(2))]
    assert report.max_overlap(intervals + report.confirmed_running_intervals(c)) == 2


def test_max_overlap_counts_shared_moments():
    assert report.max_overlap([]) == 0
    assert report.max_overlap([(0, 1), (2, 3)]) == 1
    assert report.max_overlap([(0, 1), (1, 2)]) == 2  # closed: both at 1
    assert report.max_overlap([(0, 10), (1, 2), (3, 4), (3.5, 5)]) == 3


def _trainer(queued=(), reads=(), runs=1):
    session = Session(index=0, role="train", label="t")
    session.queued_reads = list(queued)
    session.status_reads = list(reads)
    session.runs_trained = runs
    return session


def test_queue_figures_fail_when_the_server_trains_too_many_or_nobody_ever_waited():
    figures, failures = report.queue_figures([_trainer([(1, 2, 1)]), _trainer()], capacity=1)
    assert failures == []
    assert figures["queue_max"] == 2 and figures["running_max_server"] == 1
    assert figures["sessions_seen_queued"] == 1

    _, failures = report.queue_figures([_trainer([(1, 1, 2)]), _trainer()], capacity=1)
    assert any("2 runs were training at once" in failure for failure in failures)

    _, failures = report.queue_figures([_trainer(), _trainer()], capacity=1)
    assert any("none was ever seen queued" in failure for failure in failures)
    _, failures = report.queue_figures([_trainer()], capacity=1)  # one run needs no queue
    assert failures == []


def test_memory_failures_for_the_limit_and_for_growth_between_rounds():
    steady = [
        {"peak_rss_mb": 1000, "end_rss_mb": 900},
        {"peak_rss_mb": 1100, "end_rss_mb": 950},
    ]
    assert report.memory_failures(steady, limit_mb=4096, growth_mb=300) == []
    over = report.memory_failures(steady, limit_mb=1050, growth_mb=300)
    assert len(over) == 1 and "round 2" in over[0]
    growing = [{"peak_rss_mb": 1000, "end_rss_mb": 900}, {"peak_rss_mb": 1500, "end_rss_mb": 1400}]
    assert len(report.memory_failures(growing, limit_mb=4096, growth_mb=300)) == 2
    cut_short = [growing[0], {**growing[1], "finished": False}]  # not the same load
    assert report.memory_failures(cut_short, limit_mb=4096, growth_mb=300) == []


CLIENT_GONE_LOG = """Exception in ASGI application
Traceback (most recent call last):
  File "/x/.venv/lib/python3.11/site-packages/streamlit/web/starlette_websocket.py", line 5, in w
    data = await websocket.receive_bytes()
starlette.websockets.WebSocketDisconnected: WebSocket is not connected. Need to call "accept" first.

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/x/.venv/lib/python3.11/site-packages/starlette/websockets.py", line 104, in send
    raise WebSocketDisconnected('Cannot call "send" once a close message has been sent.')
starlette.websockets.WebSocketDisconnected: Cannot call "send" once a close message has been sent.
"""


def test_a_tab_gone_during_the_websocket_handshake_is_not_a_server_failure():
    assert server.server_tracebacks(CLIENT_GONE_LOG) == (0, 2)
    ours = f"""Traceback (most recent call last):
  File "{REPO}/ui/draw_input.py", line 91, in drawn_image
    raise starlette.websockets.WebSocketDisconnected()
starlette.websockets.WebSocketDisconnected
Traceback (most recent call last):
  File "/x/.venv/lib/python3.11/site-packages/torch/nn/modules/module.py", line 1, in forward
    return self._call_impl(*args)
RuntimeError: shapes cannot be multiplied
"""
    assert server.server_tracebacks(ours) == (2, 0)
    assert server.server_tracebacks("all quiet\n") == (0, 0)


def test_rss_of_a_process_tree_includes_its_children():
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE,
    )
    try:
        child.stdout.readline()  # started: its memory no longer grows
        assert child.pid in server.process_tree(os.getpid())
        child_rss = server.rss_bytes(child.pid)
        tree = server.tree_rss_bytes(os.getpid())
        own = server.rss_bytes(os.getpid())
        assert own > 10 * 2**20  # a Python interpreter with pytest: over 10 MB
        assert child_rss > 2**20
        assert tree - own >= 0.9 * child_rss  # the child is counted (give or take a page)
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
    assert server.rss_bytes(child.pid) == 0  # gone


def test_arguments_and_table():
    assert parse_args([]).rounds == 2
    quick = parse_args(["--sessions", "2", "--quick"])
    assert (quick.sessions, quick.rounds) == (2, 1)
    with pytest.raises(SystemExit):
        parse_args(["--sessions", "0"])
    assert report.format_table([("a", 1), ("longer", "x")]) == "a       1\nlonger  x"
    light_class = parse_args(["--clients", "light"])
    assert (light_class.clients, light_class.sessions) == ("light", 30)


def test_the_light_clients_drawing_is_ink_in_the_alpha_channel_where_the_strokes_go():
    import base64
    import io

    import numpy as np
    from PIL import Image

    strokes = roles.STROKES["1"]
    url = light.png_data_url(strokes)
    assert url.startswith("data:image/png;base64,")
    image = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))
    assert image.shape == (280, 280, 4)
    assert image[140, 195, 3] == 255 and image[140, 40, 3] == 0  # on the 1's stroke, and off


def _forward(kind: str, fragments=(), **fields):
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    message = ForwardMsg()
    message.metadata.run.fragment_ids.extend(fragments)
    if kind == "new_session":
        message.new_session.page_script_hash = "page"
    elif kind == "script_finished":
        message.script_finished = fields["status"]
    elif kind == "button":
        message.metadata.delta_path.extend(fields["path"])
        message.delta.fragment_id = fields.get("fragment", "")
        message.delta.new_element.button.id = fields["id"]
        message.delta.new_element.button.label = fields["id"]
    return message


def test_the_light_client_keeps_what_the_last_runs_wrote_as_the_browser_does():
    """A full run drops what it did not write again; a fragment run only in its fragment; the
    widget states of widgets gone from the page are not sent again."""
    import asyncio
    import concurrent.futures

    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    async def play() -> light.LightSession:
        session = light.LightSession("http://127.0.0.1:1")
        for message in [
            _forward("new_session"),
            _forward("button", path=(0, 0), id="a"),
            _forward("button", path=(0, 1), id="b"),
            _forward("button", path=(0, 2, 0), id="live", fragment="f"),
            _forward("button", path=(0, 2, 1), id="gone", fragment="f"),
            _forward("script_finished", status=ForwardMsg.FINISHED_SUCCESSFULLY),
            _forward("new_session", fragments=["f"]),
            _forward("button", path=(0, 2, 0), id="live", fragment="f"),
            _forward(
                "script_finished", ["f"], status=ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
            ),
        ]:
            if message.HasField("new_session"):  # the states the page had set before
                session._states = {w: WidgetState(id=w) for w in ("b", "gone")}
            await session._handle(message)
        assert session.texts("button") == ["a", "b", "live"] and session.idle
        assert list(session._states) == ["b"]
        for message in [
            _forward("new_session"),
            _forward("button", path=(0, 0), id="a"),
            _forward("script_finished", status=ForwardMsg.FINISHED_SUCCESSFULLY),
        ]:
            await session._handle(message)
        assert session.texts("button") == ["a"] and session._states == {}
        return session

    # On a thread of its own: in the whole suite the browser tests' Playwright (session-scoped,
    # sync API) keeps an event loop running on this one, and asyncio.run refuses to nest.
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, play()).result()


def test_two_light_sessions_draw_and_train_against_a_real_server(tmp_path):
    """`--clients light`: each session's drawing is read as the digit drawn, and its Tiny run
    finishes, through Streamlit's own protocol (no browser)."""
    problem = server.missing_requirements(browser=False)
    if problem:
        pytest.skip(problem)
    result, figures = run_loadtest(tmp_path, "--clients", "light", "--sessions", "2")
    assert figures["passed"] and figures["failures"] == []
    assert figures["sessions"] == 2 and figures["predictions_right"] == 2
    assert figures["runs_started"] == figures["runs_finished"] == 2 and figures["runs_lost"] == 0
    assert figures["errors"] == 0 and figures["health_failures"] == 0
    assert figures["page_loads"] >= 2 * 8  # Home, Draw, a drawing, Inside, Train, 2 settings, Start
    assert figures["server_rss_peak_mb"] > 0 and figures["workers_rss_peak_mb"] > 0
    assert "queue wait p50 / p95 / max" in result.stdout and "PASS" in result.stdout


@pytest.mark.browser
def test_two_sessions_quick_run_passes_and_writes_its_figures(tmp_path):
    problem = server.missing_requirements()
    if problem:
        pytest.skip(problem)
    result, figures = run_loadtest(tmp_path, "--sessions", "2", "--quick")
    assert figures["passed"] and figures["failures"] == []
    assert figures["sessions"] == 2 and figures["rounds"] == 1
    assert figures["runs_trained"] == 1 and figures["predictions"] >= 1
    assert figures["errors"] == 0 and figures["isolation_leaks"] == 0
    assert figures["health_checks"] > 0 and figures["health_failures"] == 0
    assert 0 < figures["peak_rss_mb"] < 4096
    assert figures["page_loads"] > 0 and figures["page_load_p95_s"] >= figures["page_load_p50_s"]
    assert "page load p50 / p95" in result.stdout and "PASS" in result.stdout
