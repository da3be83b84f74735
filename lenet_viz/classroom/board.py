"""The class board's service: classes, students, published runs, assignments, the pooled
experiment and export, over any SQLAlchemy database (`database.py` says which).

Who may do what: anyone with a class code may join and publish; a run can be removed by the
student who published it (their browser's secret identity) or by the teacher (the class's secret
token); closing and deleting a class, and setting its assignments, take the teacher's token.
Only hashes of identities and tokens are stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from lenet_viz.classroom.database import (
    StorageUnavailable,
    database_url,
    make_engine,
    migrate,
)
from lenet_viz.classroom.grid import (
    MAX_CURVE_POINTS,
    PooledGrid,
    assignment_cells,
    bounded_curve,
    pooled_grid,
)
from lenet_viz.classroom.schema import (
    NAME_LENGTH,
    RUN_NAME_LENGTH,
    Assignment,
    BoardRun,
    ClassRoom,
    Member,
    SavedModel,
)

CODE_BYTES = 10  # 80 random bits, 16 base32 characters
TOKEN_BYTES = 24  # the teacher token: 192 random bits
DEFAULT_BASE_URL = "http://localhost:8501"
PUBLIC_URL_VARIABLE = "LENET_VIZ_PUBLIC_URL"


class ClassroomError(ValueError):
    """A request the board refuses; the message says what to do."""


class ClassNotFound(ClassroomError):
    pass


class NotAllowed(ClassroomError):
    pass


class ClassClosed(ClassroomError):
    pass


class ClassFull(ClassroomError):
    pass


class TooManyRuns(ClassroomError):
    pass


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ClassroomError(f"{name} must be a positive whole number, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class ClassLimits:
    """How much a class holds and for how long. Each can be set by an environment variable:
    LENET_VIZ_CLASS_MAX_RUNS, LENET_VIZ_CLASS_RUNS_PER_MINUTE, LENET_VIZ_CLASS_RETENTION_DAYS."""

    max_runs: int = 1000
    runs_per_minute: int = 20  # per student: a Compare of 4 runs publishes 4 at once
    retention_days: int = 30

    @classmethod
    def from_env(cls) -> ClassLimits:
        defaults = cls()
        return cls(
            max_runs=env_int("LENET_VIZ_CLASS_MAX_RUNS", defaults.max_runs),
            runs_per_minute=env_int("LENET_VIZ_CLASS_RUNS_PER_MINUTE", defaults.runs_per_minute),
            retention_days=env_int("LENET_VIZ_CLASS_RETENTION_DAYS", defaults.retention_days),
        )


def public_base_url() -> str:
    """Where students reach the app: $LENET_VIZ_PUBLIC_URL, else the local default."""
    return (os.environ.get(PUBLIC_URL_VARIABLE) or DEFAULT_BASE_URL).rstrip("/")


@dataclass(frozen=True)
class NewClass:
    """What creating a class hands back once: the code for everyone, the token for the teacher."""

    code: str
    name: str
    teacher_token: str
    expires_at: datetime

    def link(self, base_url: str | None = None) -> str:
        return class_link(self.code, base_url)

    def teacher_link(self, base_url: str | None = None) -> str:
        return teacher_link(self.code, self.teacher_token, base_url)


def class_link(code: str, base_url: str | None = None) -> str:
    """The link students open: any page with `?class=CODE` joins the class."""
    return f"{base_url or public_base_url()}/?class={code}"


def teacher_link(code: str, token: str, base_url: str | None = None) -> str:
    """The Class page with the teacher's token: keep it private."""
    return f"{base_url or public_base_url()}/classroom?class={code}&teacher={token}"


@dataclass(frozen=True)
class ClassInfo:
    code: str
    name: str
    closed: bool
    expires_at: datetime
    run_count: int
    member_count: int
    max_runs: int
    grid: tuple[str, str] | None  # the assignments grid's two settings, if set


@dataclass(frozen=True)
class Student:
    member_id: int
    code: str
    display_name: str
    assignment: dict | None  # the settings of the grid cell given to this student


@dataclass
class RunRecord:
    """A finished run as it is published: `run_uid` is unique per run (publishing it twice,
    e.g. again from the outbox, stores it once)."""

    run_uid: str
    name: str
    settings: dict
    curves: dict[str, dict[str, list[float]]]
    train_accuracy: float | None
    test_accuracy: float | None
    duration_seconds: float
    status: str = "completed"
    extra: dict = field(default_factory=dict)


def now_utc() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands timestamps back without their zone; they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_code() -> str:
    """A class code: 80 random bits in base32 (letters and digits 2-7, no look-alikes 0/1/8)."""
    return base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode()


def new_identity() -> str:
    """A browser's durable secret identity (what the cookie holds)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean_text(text: str, limit: int) -> str:
    """A name as it is stored: no control characters, single spaces, at most `limit` long."""
    return " ".join(CONTROL.sub(" ", str(text)).split())[:limit]


class ClassBoard:
    """The class board on one database. Thread-safe: every call opens its own session."""

    def __init__(self, engine: Engine, limits: ClassLimits | None = None, clock=now_utc):
        self.engine = engine
        self.limits = limits or ClassLimits.from_env()
        self.clock = clock
        self.sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str | None = None, limits: ClassLimits | None = None) -> ClassBoard:
        """The board on `url`, or on the configured database (`database_url()`)."""
        return cls(make_engine(url or database_url()), limits)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction; a database that is down or failing raises StorageUnavailable."""
        try:
            migrate(self.engine)
            with self.sessions.begin() as session:
                yield session
        except IntegrityError:
            raise
        except SQLAlchemyError as error:
            raise StorageUnavailable.because(error) from error

    # -- the teacher ---------------------------------------------------------------------------
    def create_class(self, name: str) -> NewClass:
        """A new class with a fresh code and teacher token (expired classes are removed first)."""
        name = clean_text(name, NAME_LENGTH)
        if not name:
            raise ClassroomError("give the class a name (for example: 'Year 11, Tuesday')")
        self.expire()
        token = secrets.token_urlsafe(TOKEN_BYTES)
        created = self.clock()
        expires = created + timedelta(days=self.limits.retention_days)
        with self.session() as session:
            code = new_code()
            session.add(
                ClassRoom(
                    code=code,
                    name=name,
                    teacher_token_hash=digest(token),
                    created_at=created,
                    expires_at=expires,
                    closed=False,
                    max_runs=self.limits.max_runs,
                )
            )
        return NewClass(code=code, name=name, teacher_token=token, expires_at=expires)

    def is_teacher(self, code: str, token: str | None) -> bool:
        if not token:
            return False
        with self.session() as session:
            room = self._class(session, code)
            return hmac.compare_digest(room.teacher_token_hash, digest(token))

    def close_class(self, code: str, token: str, closed: bool = True) -> None:
        """Close the class to new runs (the board stays), or open it again."""
        with self.session() as session:
            room = self.class_as_teacher(session, code, token)
            room.closed = closed

    def delete_class(self, code: str, token: str) -> None:
        """Delete the class with every member, run and assignment."""
        with self.session() as session:
            room = self.class_as_teacher(session, code, token)
            self._delete_classes(session, [room.id])

    def set_assignments(
        self, code: str, token: str, rows: str, row_values: list, columns: str, column_values: list
    ) -> int:
        """The assignments grid: every pair of `rows` x `columns` values, in order. Students who
        join from now on (and those without a cell yet) get the next unfilled cell. Returns the
        number of cells."""
        if not row_values or not column_values or rows == columns:
            raise ClassroomError(
                "an assignments grid needs two different settings, each with at least one value"
            )
        cells = assignment_cells(rows, row_values, columns, column_values)
        with self.session() as session:
            room = self.class_as_teacher(session, code, token)
            session.execute(delete(Assignment).where(Assignment.class_id == room.id))
            for member in room.members:
                member.assignment = None
            session.flush()
            for position, settings in enumerate(cells):
                session.add(Assignment(class_id=room.id, position=position, settings=settings))
            room.grid_rows, room.grid_columns = rows, columns
        return len(cells)

    def expire(self) -> int:
        """Delete the classes whose retention time is over; how many."""
        with self.session() as session:
            ids = session.scalars(
                select(ClassRoom.id).where(ClassRoom.expires_at <= self.clock())
            ).all()
            self._delete_classes(session, list(ids))
        return len(ids)

    # -- students ------------------------------------------------------------------------------
    def join(
        self,
        code: str,
        identity: str,
        display_name: str | None = None,
        teacher_token: str | None = None,
    ) -> Student:
        """Join (or come back to) a class. A browser that joined before is the same student; a
        new name replaces the old. Without a name: "Student N". With the teacher's token, the
        teacher's own browser joins ("Teacher"), and takes no cell of the assignments grid."""
        with self.session() as session:
            room = self._class(session, code)
            member = self._member(session, room, identity)
            name = clean_text(display_name or "", NAME_LENGTH)
            teacher = bool(teacher_token) and hmac.compare_digest(
                room.teacher_token_hash, digest(teacher_token)
            )
            if member is None:
                member = self._new_member(session, room, identity, name or teacher * "Teacher")
            elif name:
                member.display_name = name
            member.is_teacher = member.is_teacher or teacher
            return self._student(session, room, member)

    def student(self, code: str, identity: str) -> Student | None:
        """The student this browser is in the class, if it joined (their assignment given now
        if the teacher set the grid after they joined)."""
        with self.session() as session:
            room = self._class(session, code)
            member = self._member(session, room, identity)
            return self._student(session, room, member) if member is not None else None

    def publish(self, code: str, identity: str, record: RunRecord) -> int:
        """Put a finished run on the board (once per run_uid); its id on the board. A browser
        that had not joined yet (the database was down when it opened the link) joins now."""
        with self.session() as session:
            room = self._class(session, code)
            member = self._member(session, room, identity) or self._new_member(
                session, room, identity, ""
            )
            existing = session.scalar(
                select(BoardRun.id).where(
                    BoardRun.class_id == room.id, BoardRun.run_uid == record.run_uid
                )
            )
            if existing is not None:
                return existing
            self._check_limits(session, room, member)
            run = BoardRun(
                class_id=room.id,
                member_id=member.id,
                **run_columns(record),
                published_at=self.clock(),
            )
            session.add(run)
            session.flush()
            return run.id

    def remove_run(
        self, code: str, run_id: int, *, identity: str | None = None, token: str | None = None
    ) -> None:
        """Remove a run: its student (their identity) or the teacher (the token) may."""
        with self.session() as session:
            room = self._class(session, code)
            run = session.get(BoardRun, run_id)
            if run is None or run.class_id != room.id:
                raise ClassroomError(f"run {run_id} is not on this class's board")
            teacher = token is not None and hmac.compare_digest(
                room.teacher_token_hash, digest(token)
            )
            member = self._member(session, room, identity) if identity else None
            if not teacher and (member is None or member.id != run.member_id):
                raise NotAllowed(
                    "only the student who published a run, or the teacher, can remove it"
                )
            session.delete(run)

    # -- reading the board ---------------------------------------------------------------------
    def info(self, code: str) -> ClassInfo:
        with self.session() as session:
            room = self._class(session, code)
            runs = session.scalar(select(func.count()).where(BoardRun.class_id == room.id))
            members = session.scalar(select(func.count()).where(Member.class_id == room.id))
            grid = (room.grid_rows, room.grid_columns) if room.grid_rows else None
            return ClassInfo(
                code=room.code,
                name=room.name,
                closed=room.closed,
                expires_at=as_utc(room.expires_at),
                run_count=runs,
                member_count=members,
                max_runs=room.max_runs,
                grid=grid,
            )

    def version(self, code: str) -> tuple[int, int]:
        """(number of runs, newest run id): what a polling board compares to redraw only when
        the board changed."""
        with self.session() as session:
            room = self._class(session, code)
            count, newest = session.execute(
                select(func.count(BoardRun.id), func.max(BoardRun.id)).where(
                    BoardRun.class_id == room.id
                )
            ).one()
            return count, newest or 0

    def runs(self, code: str, curves: bool = True) -> list[dict]:
        """Every run on the board, oldest first, with its student's name and id."""
        with self.session() as session:
            room = self._class(session, code)
            rows = session.execute(
                select(BoardRun, Member.display_name)
                .join(Member, Member.id == BoardRun.member_id)
                .where(BoardRun.class_id == room.id)
                .order_by(BoardRun.id)
            ).all()
            return [self._run_dict(run, name, curves) for run, name in rows]

    def export(self, code: str) -> list[dict]:
        """Every run with its settings and final accuracies (no curves): `class export`."""
        return self.runs(code, curves=False)

    def pooled(self, code: str, rows: str, columns: str) -> PooledGrid:
        return pooled_grid(self.runs(code, curves=False), rows, columns)

    def assignments(self, code: str) -> list[dict]:
        """The assignments grid: each cell's position, settings and the students given it."""
        with self.session() as session:
            room = self._class(session, code)
            names: dict[int, list[str]] = {}
            for member in room.members:
                if member.assignment is not None:
                    names.setdefault(member.assignment, []).append(member.display_name)
            cells = session.scalars(
                select(Assignment)
                .where(Assignment.class_id == room.id)
                .order_by(Assignment.position)
            ).all()
            return [
                {
                    "position": c.position,
                    "settings": c.settings,
                    "students": names.get(c.position, []),
                }
                for c in cells
            ]

    # -- helpers -------------------------------------------------------------------------------
    def _class(self, session: Session, code: str) -> ClassRoom:
        code = (code or "").strip().upper()
        room = session.scalar(select(ClassRoom).where(ClassRoom.code == code))
        if room is None or as_utc(room.expires_at) <= self.clock():
            raise ClassNotFound(
                f"no class with code {code!r}: check the link, or ask the teacher for a new one "
                "(classes expire after their retention time)"
            )
        return room

    def class_as_teacher(self, session: Session, code: str, token: str | None) -> ClassRoom:
        room = self._class(session, code)
        if not token or not hmac.compare_digest(room.teacher_token_hash, digest(token)):
            raise NotAllowed("this needs the teacher link (the one with the teacher token)")
        return room

    def _member(self, session: Session, room: ClassRoom, identity: str | None) -> Member | None:
        if not identity:
            return None
        return session.scalar(
            select(Member).where(
                Member.class_id == room.id, Member.identity_hash == digest(identity)
            )
        )

    def _new_member(self, session: Session, room: ClassRoom, identity: str, name: str) -> Member:
        """A browser new to the class, named "Student N" unless it gave a name."""
        count = session.scalar(
            select(func.count()).where(Member.class_id == room.id, Member.is_teacher.is_(False))
        )
        member = Member(
            class_id=room.id,
            identity_hash=digest(identity),
            display_name=name or f"Student {count + 1}",
            joined_at=self.clock(),
            is_teacher=False,
        )
        session.add(member)
        session.flush()
        return member

    def _student(self, session: Session, room: ClassRoom, member: Member) -> Student:
        cell = self._assignment(session, room, member)
        return Student(
            member_id=member.id,
            code=room.code,
            display_name=member.display_name,
            assignment=cell.settings if cell is not None else None,
        )

    def _assignment(self, session: Session, room: ClassRoom, member: Member) -> Assignment | None:
        """The member's grid cell, given now if they have none: the first cell nobody has, else
        the first of those given to the fewest students (a second round)."""
        cells = session.scalars(
            select(Assignment).where(Assignment.class_id == room.id).order_by(Assignment.position)
        ).all()
        if not cells or member.is_teacher:
            return None
        if member.assignment is None:
            taken: dict[int, int] = {}
            for other in room.members:
                if other.assignment is not None:
                    taken[other.assignment] = taken.get(other.assignment, 0) + 1
            member.assignment = min(
                cells, key=lambda c: (taken.get(c.position, 0), c.position)
            ).position
        return next((c for c in cells if c.position == member.assignment), None)

    def _check_limits(self, session: Session, room: ClassRoom, member: Member) -> None:
        if room.closed:
            raise ClassClosed("this class is closed: the teacher no longer takes new runs")
        count = session.scalar(select(func.count()).where(BoardRun.class_id == room.id))
        if count >= room.max_runs:
            raise ClassFull(
                f"this class's board is full ({room.max_runs} runs): ask the teacher to remove "
                "some runs or start a new class"
            )
        since = self.clock() - timedelta(minutes=1)
        recent = session.scalar(
            select(func.count()).where(
                BoardRun.member_id == member.id, BoardRun.published_at > since
            )
        )
        if recent >= self.limits.runs_per_minute:
            raise TooManyRuns(
                f"at most {self.limits.runs_per_minute} runs a minute per student: this run is "
                "kept and published in a minute"
            )

    def _delete_classes(self, session: Session, ids: list[int]) -> None:
        """Delete classes and everything in them (explicitly: SQLite's cascade needs its
        foreign keys on, and this does not depend on it)."""
        if not ids:
            return
        for table in (BoardRun, Assignment, SavedModel, Member):
            session.execute(delete(table).where(table.class_id.in_(ids)))
        session.execute(delete(ClassRoom).where(ClassRoom.id.in_(ids)))

    @staticmethod
    def _run_dict(run: BoardRun, student: str, curves: bool) -> dict:
        result = {
            "id": run.id,
            "student": student,
            "member_id": run.member_id,
            "name": run.name,
            "settings": run.settings,
            "train_accuracy": run.train_accuracy,
            "test_accuracy": run.test_accuracy,
            "duration_seconds": run.duration_seconds,
            "status": run.status,
            "published_at": as_utc(run.published_at).isoformat(),
        }
        if curves:
            result["curves"] = run.curves
        return result


def run_columns(record: RunRecord) -> dict:
    """A finished run's stored columns, bounded and cleaned (a board's run, a browser's run)."""
    return dict(
        run_uid=record.run_uid[:64],
        name=clean_text(record.name, RUN_NAME_LENGTH),
        settings=dict(record.settings),
        curves={
            key: bounded_curve(curve["x"], curve["y"], MAX_CURVE_POINTS)
            for key, curve in record.curves.items()
        },
        train_accuracy=record.train_accuracy,
        test_accuracy=record.test_accuracy,
        duration_seconds=float(record.duration_seconds),
        status=record.status[:20],
    )
