"""A lightweight client: one Streamlit session spoken to over Streamlit's own websocket protocol,
no browser.

It does what the browser's side of Streamlit does for the parts the load test uses, with the
public protobuf messages of `streamlit.proto`:

- connects to ws://HOST:PORT/_stcore/stream (subprotocol "streamlit") and asks for a script run
  (BackMsg.rerun_script: query string, page, widget states), as a page load does;
- keeps the page's elements by their delta path, as the deltas of each script run write them,
  and drops at the end of a run those the run did not write again (the browser's stale
  elements), for fragment runs only within those fragments;
- sends widget states the way the browser's widget manager does: a button's trigger_value (once),
  a selectbox's string_value (the option's label), a number input's int or double value, and a
  custom component's json_value (the Draw page's drawing pad: {"drawing": {"strokes": point
  lists, "image": PNG data URL}}, what ui/draw/drawing_pad.js sends with setStateValue);
  only the widgets still on the page are sent again;
- reruns the fragments that ask for it (ForwardMsg.auto_rerun) at their interval, as the
  browser's timers do, until a full run no longer registers them or stop_auto_rerun says so.

A page load is timed from the rerun request to its script_finished.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import io
import json
import time
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.NumberInput_pb2 import NumberInput
from streamlit.proto.WidgetStates_pb2 import WidgetState

STREAM_PATH = "/_stcore/stream"
FULL_RUN_DONE = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR)
CANVAS_COMPONENT = "lenet_viz_explorer.drawing_pad"  # ui/draw/drawing_pad.py
CANVAS_SIZE = 280  # ui/draw/canvas.py
STROKE_WIDTH = 20


@dataclass
class Item:
    """One element (or block) of the page, where the last script run put it."""

    kind: str  # the Element's type ("button", "markdown", ...), or "block"
    proto: object  # that element's own message (Button, Markdown, ...)
    fragment_id: str
    written: int  # the number of the script run that wrote it


def element_text(kind: str, proto) -> str:
    """What a user reads of an element."""
    if kind in ("markdown", "heading", "alert", "text", "caption"):
        return getattr(proto, "body", "")
    if kind == "progress":
        return proto.text
    if kind == "metric":
        return f"{proto.label}: {proto.body}"
    if kind == "exception":
        return f"{proto.type}: {proto.message}"
    return getattr(proto, "label", "")


@dataclass
class LightSession:
    """One user's Streamlit session without a browser (see the module's docstring)."""

    url: str  # http://127.0.0.1:PORT
    label: str = "light"
    items: dict[tuple[int, ...], Item] = field(default_factory=dict)
    pages: dict[str, str] = field(default_factory=dict)  # url path ("" for Home) -> script hash
    page_hash: str = ""
    query_string: str = ""
    load_seconds: list[float] = field(default_factory=list)
    messages: int = 0
    bytes_received: int = 0
    session_id: str = ""
    idle: bool = False  # no script run going on (the page as its last run left it)
    # Every progress bar and message as it was drawn: (monotonic time, kind, text).
    drawn: list[tuple[float, str, str]] = field(default_factory=list)
    closed_with: str | None = None  # why the connection ended, if it did

    def __post_init__(self):
        self._states: dict[str, WidgetState] = {}  # widget id -> its value (not triggers)
        self._run = 0  # script runs started
        self._run_fragments: list[str] = []  # the fragments of the run in progress
        self._full_runs_done = 0
        self._changed = asyncio.Condition()
        self._timers: dict[str, asyncio.Task] = {}  # fragment id -> its auto-rerun task
        self._socket = None
        self._reader: asyncio.Task | None = None
        # The last lifecycle messages and requests, to explain a page that stopped changing.
        self.trail: collections.deque[str] = collections.deque(maxlen=200)
        self._started = time.monotonic()

    def note(self, text: str) -> None:
        self.trail.append(f"{time.monotonic() - self._started:7.2f} {text}")

    # ------------------------------------------------------------------ connection
    async def connect(self) -> None:
        import websockets

        host = self.url.split("://", 1)[1].rstrip("/")
        self._socket = await websockets.connect(
            f"ws://{host}{STREAM_PATH}",
            subprotocols=["streamlit"],
            origin=self.url,
            max_size=None,
            open_timeout=120,
            ping_interval=None,  # a busy server must not be disconnected for a late pong
        )
        self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        for task in self._timers.values():
            task.cancel()
        self._timers.clear()
        if self._socket is not None:
            with contextlib.suppress(Exception):
                await self._socket.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader

    async def _read(self) -> None:
        try:
            async for data in self._socket:
                message = ForwardMsg()
                message.ParseFromString(data)
                self.messages += 1
                self.bytes_received += len(data)
                await self._handle(message)
        except Exception as error:  # the connection closed or broke
            self.closed_with = f"{type(error).__name__}: {error}"
        else:
            self.closed_with = "the server closed the connection"
        async with self._changed:
            self._changed.notify_all()

    async def _send(self, message: BackMsg) -> None:
        state = message.rerun_script
        self.note(f"-> rerun fragment={state.fragment_id[:6]!r} auto={state.is_auto_rerun}")
        await self._socket.send(message.SerializeToString())

    # ------------------------------------------------------------------ what the server says
    async def _handle(self, message: ForwardMsg) -> None:
        kind = message.WhichOneof("type")
        if kind not in ("delta", "navigation"):
            self.note(f"<- {kind} {_short(message)}")
        if kind == "new_session":
            self._run += 1
            self.idle = False
            self._run_fragments = list(message.metadata.run.fragment_ids)
            session = message.new_session
            self.session_id = session.initialize.session_id or self.session_id
            self.page_hash = session.page_script_hash
            self._learn_pages(session.app_pages)
            if not self._run_fragments:  # a full run: its fragments register their timers again
                for task in self._timers.values():
                    task.cancel()
                self._timers.clear()
        elif kind == "delta":
            self._apply_delta(message)
        elif kind == "navigation":  # st.navigation's pages (the sidebar)
            self._learn_pages(message.navigation.app_pages)
            self.page_hash = message.navigation.page_script_hash or self.page_hash
        elif kind == "page_info_changed":
            self.query_string = message.page_info_changed.query_string
        elif kind == "auto_rerun":
            fragment, interval = message.auto_rerun.fragment_id, message.auto_rerun.interval
            timer = self._timers.get(fragment)
            if (timer is None or timer.done()) and interval > 0:
                self._timers[fragment] = asyncio.create_task(self._auto_rerun(fragment, interval))
        elif kind == "stop_auto_rerun":
            for fragment in message.stop_auto_rerun.fragment_ids:
                if task := self._timers.pop(fragment, None):
                    task.cancel()
        elif kind == "script_finished":
            self.idle = True
            self._finish_run(message.script_finished, list(message.metadata.run.fragment_ids))
        async with self._changed:
            self._changed.notify_all()

    def _learn_pages(self, pages) -> None:
        for page in pages:
            self.pages[page.url_pathname] = page.page_script_hash

    def _apply_delta(self, message: ForwardMsg) -> None:
        path = tuple(message.metadata.delta_path)
        delta = message.delta
        which = delta.WhichOneof("type")
        if which == "new_element":
            element = delta.new_element
            kind = element.WhichOneof("type")
            self.items[path] = Item(kind, getattr(element, kind), delta.fragment_id, self._run)
            if kind in ("progress", "alert"):  # as they are drawn, between reads of the page
                self.drawn.append(
                    (time.monotonic(), kind, element_text(kind, getattr(element, kind)))
                )
        elif which == "add_block":
            self.items[path] = Item("block", delta.add_block, delta.fragment_id, self._run)

    def _finish_run(self, status: int, fragments: list[str]) -> None:
        """Drop what this run did not write again (for a fragment run, in its fragments)."""
        if status in FULL_RUN_DONE:
            self._full_runs_done += 1
            stale = [path for path, item in self.items.items() if item.written < self._run]
        elif status == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
            stale = [
                path
                for path, item in self.items.items()
                if item.written < self._run and item.fragment_id in fragments
            ]
        else:  # stopped early for another rerun: the next run will settle the page
            return
        for path in stale:
            del self.items[path]
        ids = {getattr(item.proto, "id", None) for item in self.items.values()}
        for widget in [widget for widget in self._states if widget not in ids]:
            del self._states[widget]

    async def _auto_rerun(self, fragment: str, interval: float) -> None:
        try:
            while True:
                await asyncio.sleep(interval)
                await self._send(self._rerun_message(fragment_id=fragment, auto=True))
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the connection closed: the reader says so
            self.note(f"timer {fragment[:6]} ended: {type(error).__name__}: {error}")

    def timers_state(self) -> str:
        """The auto-rerun timers, for a failure: which are still going."""
        return ", ".join(
            f"{fragment[:6]}:{'done' if task.done() else 'on'}"
            for fragment, task in self._timers.items()
        )

    # ------------------------------------------------------------------ asking for runs
    def _rerun_message(
        self,
        page_hash: str | None = None,
        page_name: str = "",
        trigger: WidgetState | None = None,
        fragment_id: str = "",
        auto: bool = False,
    ) -> BackMsg:
        message = BackMsg()
        state = message.rerun_script
        state.query_string = self.query_string
        state.page_script_hash = self.page_hash if page_hash is None else page_hash
        state.page_name = page_name
        state.fragment_id = fragment_id
        state.is_auto_rerun = auto
        state.context_info.timezone = "UTC"
        state.context_info.locale = "en-US"
        state.context_info.url = f"{self.url}/{page_name}"
        state.widget_states.widgets.extend(self._states.values())
        if trigger is not None:
            state.widget_states.widgets.append(trigger)
        return message

    async def rerun(self, message: BackMsg, timeout: float) -> float:
        """Send a rerun request; wait for the full script run it starts to finish; its seconds
        (a page load) are kept and returned."""
        started = time.monotonic()
        done_before = self._full_runs_done
        await self._send(message)
        await self.wait_until(lambda: self._full_runs_done > done_before, timeout, "a script run")
        seconds = time.monotonic() - started
        self.load_seconds.append(seconds)
        return seconds

    async def wait_until(self, condition, timeout: float, what: str) -> None:
        """Until condition() holds (checked at each message), or TimeoutError."""

        def ready() -> bool:
            if self.closed_with:
                raise ConnectionError(f"{self.label}: {self.closed_with} (waiting for {what})")
            return condition()

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(ready), timeout)
            except TimeoutError:
                raise TimeoutError(f"{self.label}: no {what} within {timeout:.0f} s") from None

    async def open(self, path: str = "", timeout: float = 150) -> float:
        """The page at this URL path ("" for Home, "train", "draw", ...): the first load, or a
        click in the sidebar."""
        if self._socket is None:
            await self.connect()
            self.query_string = ""
            return await self.rerun(self._rerun_message(page_hash="", page_name=path), timeout)
        page_hash = self.pages.get(path)
        if page_hash is None:
            raise LookupError(f"{self.label}: no page at /{path} (pages: {sorted(self.pages)})")
        self.query_string = ""
        return await self.rerun(self._rerun_message(page_hash=page_hash, page_name=path), timeout)

    # ------------------------------------------------------------------ reading the page
    def elements(self, kind: str | None = None) -> list[Item]:
        ordered = sorted(self.items.items())
        return [item for _, item in ordered if kind is None or item.kind == kind]

    def texts(self, kind: str | None = None) -> list[str]:
        return [element_text(item.kind, item.proto) for item in self.elements(kind)]

    def has_text(self, part: str, kind: str | None = None) -> bool:
        return any(part in text for text in self.texts(kind))

    def widget(self, kind: str, label: str) -> object:
        found = [item.proto for item in self.elements(kind) if item.proto.label == label]
        if not found:
            shown = [item.proto.label for item in self.elements(kind)]
            raise LookupError(f"{self.label}: no {kind} {label!r} on the page (has {shown})")
        return found[0]

    def errors(self) -> list[str]:
        """Every sign of an error a user could see: exceptions and error messages."""
        found = [f"exception: {text}" for text in self.texts("exception")]
        for item in self.elements("alert"):
            if item.proto.format == item.proto.ERROR:
                found.append(f"error: {item.proto.body[:300]}")
        return found

    # ------------------------------------------------------------------ acting on widgets
    async def click(self, label: str, timeout: float = 150) -> float:
        button = self.widget("button", label)
        trigger = WidgetState(id=button.id, trigger_value=True)
        return await self.rerun(self._rerun_message(trigger=trigger), timeout)

    async def choose(self, label: str, option: str, timeout: float = 150) -> float:
        box = self.widget("selectbox", label)
        if option not in box.options:
            raise LookupError(f"{self.label}: {label!r} has no option {option!r}")
        self._states[box.id] = WidgetState(id=box.id, string_value=option)
        return await self.rerun(self._rerun_message(), timeout)

    async def set_number(self, label: str, value: float, timeout: float = 150) -> float:
        box = self.widget("number_input", label)
        if box.data_type == NumberInput.INT:
            self._states[box.id] = WidgetState(id=box.id, int_value=int(value))
        else:
            self._states[box.id] = WidgetState(id=box.id, double_value=float(value))
        return await self.rerun(self._rerun_message(), timeout)

    async def draw(self, strokes: list[list[tuple[int, int]]], timeout: float = 150) -> float:
        """Draw these pen strokes (canvas pixels) on the page's drawing pad, and send them as
        its frontend does once the pen lifts."""
        canvases = [
            item.proto
            for item in self.elements("bidi_component")
            if item.proto.component_name == CANVAS_COMPONENT
        ]
        if len(canvases) != 1:
            raise LookupError(f"{self.label}: {len(canvases)} drawing pads on the page")
        lines = [[[float(x), float(y)] for x, y in points] for points in strokes]
        value = {"drawing": {"strokes": lines, "image": png_data_url(strokes)}}
        canvas = canvases[0]
        self._states[canvas.id] = WidgetState(id=canvas.id, json_value=json.dumps(value))
        return await self.rerun(self._rerun_message(), timeout)


def _short(message: ForwardMsg) -> str:
    """A lifecycle message in a few words, for the trail."""
    kind = message.WhichOneof("type")
    fragments = [fragment[:6] for fragment in message.metadata.run.fragment_ids]
    if kind == "script_finished":
        return f"{ForwardMsg.ScriptFinishedStatus.Name(message.script_finished)} {fragments}"
    if kind == "new_session":
        return f"run {message.metadata.run.script_run_id[:6]} fragments={fragments}"
    if kind == "auto_rerun":
        return f"{message.auto_rerun.fragment_id[:6]} every {message.auto_rerun.interval} s"
    if kind == "stop_auto_rerun":
        return str([fragment[:6] for fragment in message.stop_auto_rerun.fragment_ids])
    return ""


def png_data_url(strokes: list[list[tuple[int, int]]]) -> str:
    """The canvas as the frontend's toDataURL gives it: a 280x280 PNG, black ink on transparent
    (ui/draw/canvas.py reads the ink from the alpha channel)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (CANVAS_SIZE, CANVAS_SIZE), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    radius = STROKE_WIDTH / 2
    for points in strokes:
        pen.line(points, fill=(0, 0, 0, 255), width=STROKE_WIDTH, joint="curve")
        for x, y in points:  # round caps
            pen.ellipse((x - radius, y - radius, x + radius, y + radius), fill=(0, 0, 0, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
