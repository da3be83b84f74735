"""The class board's tables (SQLAlchemy 2 declarative models).

The migrations in `migrations/versions/` create exactly these tables (the storage tests check
that the migrated schema and these models agree).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

CODE_LENGTH = 32  # room for the code: 16 characters today (96 random bits)
NAME_LENGTH = 60  # class names and display names, shown as text
RUN_NAME_LENGTH = 120
HASH_LENGTH = 64  # a SHA-256 hex digest


class Base(DeclarativeBase):
    pass


class ClassRoom(Base):
    """One class: its public code, its teacher token (hashed), its limits and its lifetime."""

    __tablename__ = "classes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(CODE_LENGTH), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    teacher_token_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    max_runs: Mapped[int] = mapped_column(Integer)
    # The two settings the assignments grid crosses (None until the teacher sets a grid).
    grid_rows: Mapped[str | None] = mapped_column(String(NAME_LENGTH), nullable=True)
    grid_columns: Mapped[str | None] = mapped_column(String(NAME_LENGTH), nullable=True)

    members: Mapped[list[Member]] = relationship(
        back_populates="classroom", cascade="all, delete-orphan", passive_deletes=True
    )


class Member(Base):
    """A student (or the teacher's own browser) in a class, known by a secret identity the
    browser keeps; only its hash is stored."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("class_id", "identity_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"), index=True)
    identity_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    display_name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The position of the assignments-grid cell this member was given (None: none given).
    assignment: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The teacher's own browser (joined with the teacher token): never given a cell.
    is_teacher: Mapped[bool] = mapped_column(Boolean, default=False)

    classroom: Mapped[ClassRoom] = relationship(back_populates="members")


class BoardRun(Base):
    """A finished run published to a class board. `run_uid` makes publishing idempotent: a run
    retried from the outbox after a database outage is stored once."""

    __tablename__ = "runs"
    __table_args__ = (UniqueConstraint("class_id", "run_uid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    run_uid: Mapped[str] = mapped_column(String(HASH_LENGTH))
    name: Mapped[str] = mapped_column(String(RUN_NAME_LENGTH))
    settings: Mapped[dict] = mapped_column(JSON)
    curves: Mapped[dict] = mapped_column(JSON)  # name -> {"x": [...], "y": [...]}, <= 512 points
    train_accuracy: Mapped[float | None] = mapped_column(Float, nullable=True)
    test_accuracy: Mapped[float | None] = mapped_column(Float, nullable=True)
    duration_seconds: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20))
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class Assignment(Base):
    """One cell of the teacher's assignments grid: the settings a student is asked to try (the
    members given it say `Member.assignment == position`)."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("class_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    settings: Mapped[dict] = mapped_column(JSON)


class SavedModel(Base):
    """A model a browser saved (the checkpoint file's bytes), under the browser's identity, so it
    survives a reload, a new tab, a server restart, and is seen by every replica; saved while in
    a class, the class's teacher sees it too."""

    __tablename__ = "saved_models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identity_hash: Mapped[str] = mapped_column(String(HASH_LENGTH), index=True)
    class_id: Mapped[int | None] = mapped_column(
        ForeignKey("classes.id", ondelete="CASCADE"), nullable=True, index=True
    )
    name: Mapped[str] = mapped_column(String(RUN_NAME_LENGTH))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    saved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PersonalRun(Base):
    """A finished run in a browser's own history (settings, bounded curves, final numbers),
    kept across reloads and restarts under the browser's identity."""

    __tablename__ = "personal_runs"
    __table_args__ = (UniqueConstraint("identity_hash", "run_uid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identity_hash: Mapped[str] = mapped_column(String(HASH_LENGTH), index=True)
    run_uid: Mapped[str] = mapped_column(String(HASH_LENGTH))
    name: Mapped[str] = mapped_column(String(RUN_NAME_LENGTH))
    settings: Mapped[dict] = mapped_column(JSON)
    curves: Mapped[dict] = mapped_column(JSON)
    train_accuracy: Mapped[float | None] = mapped_column(Float, nullable=True)
    test_accuracy: Mapped[float | None] = mapped_column(Float, nullable=True)
    duration_seconds: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20))
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
