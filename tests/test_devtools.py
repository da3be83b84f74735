"""devtools.app_server: the one helper that starts the app and finds the browser."""

import os
import socket
import subprocess
import sys
import time

from devtools import app_server


def test_a_free_port_can_be_bound_and_urls_stay_on_this_machine():
    port = app_server.free_port()
    with socket.socket() as sock:
        sock.bind((app_server.HOST, port))
    assert app_server.url_of(port) == f"http://127.0.0.1:{port}"
    assert not app_server.health_ok(app_server.url_of(port), timeout=0.5)  # nothing serves


# A "server" that starts a child of its own, writes the child's pid, then waits.
SERVER_WITH_A_CHILD = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
open(sys.argv[1], "w").write(str(child.pid))
time.sleep(60)
"""


def test_stop_app_ends_the_server_and_what_it_started(tmp_path):
    pid_file = tmp_path / "child.pid"
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER_WITH_A_CHILD, str(pid_file)], start_new_session=True
    )
    deadline = time.monotonic() + 30
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the test server did not start its child"
        time.sleep(0.05)
    child = int(pid_file.read_text())
    app_server.stop_app(server, timeout=10)
    assert server.returncode is not None
    while time.monotonic() < deadline:  # the orphaned child is reaped by init once it ends
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the server's child outlived stop_app")
    app_server.stop_app(server)  # a second stop is harmless


def test_chromium_options_name_debians_chromium():
    options = app_server.chromium_options()
    assert options["executable_path"] == "/usr/bin/chromium" and "--headless" in options["args"]
    problem = app_server.chromium_problem()
    assert problem is None or "make browser" in problem or "make setup" in problem
