"""The outbox's runs, kept on disk while they wait for the board's database: a JSON-lines file
(one waiting run a line) beside the SQLite file, or in the data folder for another database.
A server that stops during an outage finds them there when it starts again.

Each change rewrites the file whole and atomically (a temporary file, flushed to disk, renamed
over it): a crash leaves the old list or the new one, never half a line. Several processes of
one data folder (replicas, a restart that overlaps the old server) share it under a lock: each
adds the runs it keeps and removes those it published, and leaves the others'.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import URL

from lenet_viz.classroom.board import RunRecord
from lenet_viz.data.datasets import default_data_root

try:
    import fcntl
except ImportError:  # Windows: one process per data folder
    fcntl = None

OUTBOX_SUFFIX = ".outbox.jsonl"


@dataclass
class Pending:
    """A finished run waiting to be published on a class's board."""

    code: str
    identity: str
    record: RunRecord

    @property
    def key(self) -> tuple[str, str]:
        return (self.code, self.record.run_uid)  # publishing is idempotent per class and run

    def to_line(self) -> str:
        return json.dumps(
            {"code": self.code, "identity": self.identity, "record": asdict(self.record)}
        )

    @classmethod
    def from_line(cls, line: str) -> Pending:
        values = json.loads(line)
        return cls(values["code"], values["identity"], RunRecord(**values["record"]))


def outbox_path(url: URL) -> Path:
    """Where the runs waiting for the database at `url` are kept: beside its SQLite file, else
    in the data folder under a name made from the URL (a digest: never its password)."""
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        database = Path(url.database)
        return database.with_name(database.stem + OUTBOX_SUFFIX)
    digest = hashlib.sha256(url.render_as_string(hide_password=False).encode()).hexdigest()
    return default_data_root() / f"classroom-{digest[:16]}{OUTBOX_SUFFIX}"


class OutboxFile:
    """The waiting runs on disk (readable by this server's user only: a line holds a browser's
    identity)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def read(self) -> list[Pending]:
        """The runs kept in the file (a line that cannot be read is skipped). (No lock needed:
        the file is only ever replaced whole. A file that cannot be read keeps nothing back.)"""
        try:
            return self._read()
        except OSError:
            return []

    def update(self, add: Iterable[Pending] = (), remove: Iterable[tuple[str, str]] = ()) -> None:
        """Keep `add` (each run once) and forget the runs whose keys are in `remove`."""
        add, remove = list(add), set(remove)
        if not add and not remove:
            return
        with self._locked():
            kept = [p for p in self._read() if p.key not in remove]
            keys = {p.key for p in kept}
            for pending in add:
                if pending.key not in keys and pending.key not in remove:
                    kept.append(pending)
                    keys.add(pending.key)
            self._write(kept)

    def _read(self) -> list[Pending]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        pending = []
        for line in lines:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                pending.append(Pending.from_line(line))
        return pending

    def _write(self, pending: list[Pending]) -> None:
        if not pending:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name + ".")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.writelines(p.to_line() + "\n" for p in pending)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)  # mkstemp made it 0600: the identities stay private
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """This process's threads one at a time, and other processes of the folder too."""
        with self._lock:
            if fcntl is None:
                yield
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            folder = os.open(self.path.parent, os.O_RDONLY)  # its folder: no lock file left
            try:
                fcntl.flock(folder, fcntl.LOCK_EX)
                yield
            finally:
                os.close(folder)  # and the lock with it
