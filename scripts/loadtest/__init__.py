"""Load test (`make loadtest`): many browser sessions at once against one local app server.

Starts `streamlit run app.py` on a free port of 127.0.0.1 only, with LENET_VIZ_MAX_RUNS=1 so the
training queue is used, and a temporary checkpoint folder (the shipped checkpoints copied in) so
the models the sessions save never land in the repo. Then opens --sessions browser sessions at
once (one Chromium, one context each, driven concurrently with Playwright's async API):

- "train" sessions choose the Tiny run size and 1 epoch, press Start together, watch the queue,
  and save the model under a name of their own;
- "draw" sessions draw a 7 and a 1 with mouse strokes, read the prediction, visit Inside;
- "switch" sessions go round every page;
- with 5 sessions or more, the last two are a "reload" session (a train session that presses F5
  while its run waits or trains, and must see the same run again) and a "closetab" session
  (starts a run with the trainers, pauses it and closes its tab: the other runs must not wait
  for it).

What must hold, and is checked (the script exits 1 if anything fails):
- isolation: a session sees its own runs and saved models, never another's (Train page, the
  model picker of Draw, the drawn digit on Inside), and a fresh session sees none;
- no errors: no exception, error message, traceback or connection error on any page; the
  server's health endpoint answers "ok" every second; no traceback in the server log (but for
  Streamlit's own when a tab goes away mid-handshake: counted apart, `server_tracebacks`);
- the queue: at most LENET_VIZ_MAX_RUNS runs train at once (the server's own count, shown to
  queued users, and the pages' statuses), and the others are seen waiting;
- memory: the RSS of the server process and its children (sampled every second from
  /proc/<pid>/status) stays under --rss-limit-mb and does not grow from one round of the same
  load to the next.

Everything is bounded: a fixed number of actions per session, a timeout on every wait, and a
total time limit (--time-limit). The figures are printed as a table and written as JSON to
test-output/loadtest.json (the server's log beside it, loadtest-server.log; a screenshot of
each failed session in test-output/loadtest-failures/).

Memory note: with glibc's default malloc, the server's RSS creeps up by about 7 MB per session
that comes and goes (freed memory stays in the per-thread arenas of the many short-lived
script and training threads), while the live Python objects stay bounded; with
MALLOC_ARENA_MAX=2 in the environment it stays flat (measured over 6 rounds). The server
inherits this script's environment, so `MALLOC_ARENA_MAX=2 make loadtest` shows it.

A class at once, without a browser (`make loadtest-class`, or `--clients light --sessions 30`):
30 Chromium pages on the 2-core machine would measure the browser rather than the server, so
each session is a lightweight client that speaks Streamlit's own websocket protocol (`light`):
it opens Home, draws a digit on Draw and must read it back as the prediction, looks at it on
Inside, then sets up a Tiny run of 1 epoch on Train, presses Start with everyone else and
watches its run until the results, polling as the browser does (`classroom`). It reports
errors, lost runs (every run must finish), queue waits, page loads (rerun request to
script_finished), the RSS of the server and of its training workers, their CPU time, and the
students per core that run served.

Run as `python scripts/loadtest` (what `make loadtest` does), or `python -m loadtest` with
scripts/ on the path. One concern a module:

- `__main__`: the command line, and one load test from start to end;
- `server`: the app server under load (its checkpoints, environment and stack-dump hook), its
  memory and health sampled as it goes, and the tracebacks in its log;
- `session`: one browser session, and the page actions and checks every role uses;
- `train_page`: a session on the Train page: start a run, watch it, F5 mid-run, pause and
  close the tab, train and save;
- `roles`: who does what, the Draw and switching sessions' parts, and what each may see;
- `rounds`: one round of sessions at once, and the rounds one after the other;
- `report`: the figures, what fails, the table and the JSON;
- `light`: one session over Streamlit's websocket protocol, without a browser;
- `classroom`: a class of light sessions at once, each drawing and training.
"""

from __future__ import annotations

import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OUTPUT = REPO / "test-output"

_T0 = time.monotonic()


def seconds_since_start() -> float:
    return time.monotonic() - _T0


def say(text: str) -> None:
    """One progress line, with the seconds since the start (the run takes minutes)."""
    print(f"[{seconds_since_start():6.1f} s] {text}", flush=True)
