"""A browser's own work, kept under its durable identity (the cookie's random id) in the board's
database: its finished runs and the models it saved. A reload, a new tab, a server restart or
another replica finds them again; a class's teacher sees every model the class saved."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from sqlalchemy import delete, select

from lenet_viz.classroom.board import (
    ClassBoard,
    ClassroomError,
    NotAllowed,
    RunRecord,
    as_utc,
    clean_text,
    digest,
    run_columns,
)
from lenet_viz.classroom.schema import (
    RUN_NAME_LENGTH,
    ClassRoom,
    Member,
    PersonalRun,
    SavedModel,
)
from lenet_viz.training.config import TrainConfig

MAX_PERSONAL_RUNS = 50  # the newest runs of a browser are kept
MAX_SAVED_MODELS = 30  # per browser: saving one more drops the oldest
MAX_MODEL_BYTES = 50 * 1024 * 1024


def kept_run_config(run: dict) -> TrainConfig | None:
    """The settings of a kept run (one of `Workspace.runs`) as a TrainConfig, to train it
    again; None if they no longer make a valid one (a run kept by an older version)."""
    try:
        return TrainConfig.from_dict(run.get("settings") or {}).validate()
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class SavedModelInfo:
    id: int
    name: str
    saved_at: str
    student: str | None = None  # who saved it (in the teacher's list of a class's models)


class Workspace:
    """The per-browser store, on a ClassBoard's database."""

    def __init__(self, board: ClassBoard) -> None:
        self.board = board

    # -- runs ----------------------------------------------------------------------------------
    def record_run(self, identity: str, record: RunRecord) -> None:
        """Keep a finished run in the browser's history (once per run_uid; the oldest beyond
        MAX_PERSONAL_RUNS are dropped)."""
        owner = digest(identity)
        with self.board.session() as session:
            exists = session.scalar(
                select(PersonalRun.id).where(
                    PersonalRun.identity_hash == owner, PersonalRun.run_uid == record.run_uid
                )
            )
            if exists is not None:
                return
            session.add(
                PersonalRun(
                    identity_hash=owner,
                    **run_columns(record),
                    finished_at=self.board.clock(),
                )
            )
            session.flush()
            keep = select(PersonalRun.id).where(PersonalRun.identity_hash == owner)
            keep = keep.order_by(PersonalRun.id.desc()).limit(MAX_PERSONAL_RUNS)
            session.execute(
                delete(PersonalRun).where(
                    PersonalRun.identity_hash == owner,
                    PersonalRun.id.not_in(keep.scalar_subquery()),
                )
            )

    def runs(self, identity: str) -> list[dict]:
        """The browser's finished runs, newest first."""
        with self.board.session() as session:
            rows = session.scalars(
                select(PersonalRun)
                .where(PersonalRun.identity_hash == digest(identity))
                .order_by(PersonalRun.id.desc())
            ).all()
            return [
                {
                    "run_uid": row.run_uid,
                    "name": row.name,
                    "settings": row.settings,
                    "curves": row.curves,
                    "train_accuracy": row.train_accuracy,
                    "test_accuracy": row.test_accuracy,
                    "duration_seconds": row.duration_seconds,
                    "status": row.status,
                    "finished_at": as_utc(row.finished_at).isoformat(),
                }
                for row in rows
            ]

    # -- saved models --------------------------------------------------------------------------
    def save_model(
        self, identity: str, name: str, data: bytes, class_code: str | None = None
    ) -> int:
        """Keep a saved checkpoint's bytes under the browser (and its class, if in one); a model
        saved again under the same name replaces the old one."""
        if len(data) > MAX_MODEL_BYTES:
            raise ClassroomError(
                f"this checkpoint is {len(data) / 2**20:.0f} MB; at most "
                f"{MAX_MODEL_BYTES // 2**20} MB are kept per model"
            )
        owner, name = digest(identity), clean_text(name, RUN_NAME_LENGTH)
        with self.board.session() as session:
            class_id = None
            if class_code:
                class_id = session.scalar(
                    select(ClassRoom.id).where(ClassRoom.code == class_code.strip().upper())
                )
            session.execute(
                delete(SavedModel).where(SavedModel.identity_hash == owner, SavedModel.name == name)
            )
            model = SavedModel(
                identity_hash=owner,
                class_id=class_id,
                name=name,
                data=data,
                saved_at=self.board.clock(),
            )
            session.add(model)
            session.flush()
            keep = select(SavedModel.id).where(SavedModel.identity_hash == owner)
            keep = keep.order_by(SavedModel.id.desc()).limit(MAX_SAVED_MODELS)
            session.execute(
                delete(SavedModel).where(
                    SavedModel.identity_hash == owner, SavedModel.id.not_in(keep.scalar_subquery())
                )
            )
            return model.id

    def saved_models(self, identity: str) -> list[SavedModelInfo]:
        """The browser's saved models, newest first (names and dates; no bytes)."""
        with self.board.session() as session:
            rows = session.execute(
                select(SavedModel.id, SavedModel.name, SavedModel.saved_at)
                .where(SavedModel.identity_hash == digest(identity))
                .order_by(SavedModel.id.desc())
            ).all()
            return [SavedModelInfo(i, n, as_utc(t).isoformat()) for i, n, t in rows]

    def class_models(self, code: str, teacher_token: str) -> list[SavedModelInfo]:
        """Every model the class's students saved while in it (the teacher's token needed)."""
        with self.board.session() as session:
            room = self.board.class_as_teacher(session, code, teacher_token)
            rows = session.execute(
                select(SavedModel.id, SavedModel.name, SavedModel.saved_at, Member.display_name)
                .join(
                    Member,
                    (Member.identity_hash == SavedModel.identity_hash)
                    & (Member.class_id == room.id),
                    isouter=True,
                )
                .where(SavedModel.class_id == room.id)
                .order_by(SavedModel.id.desc())
            ).all()
            return [SavedModelInfo(i, n, as_utc(t).isoformat(), who) for i, n, t, who in rows]

    def model_bytes(
        self,
        model_id: int,
        identity: str | None = None,
        class_code: str | None = None,
        teacher_token: str | None = None,
    ) -> bytes:
        """A saved model's checkpoint bytes: for the browser that saved it, or the teacher of
        the class it was saved in."""
        with self.board.session() as session:
            model = session.get(SavedModel, model_id)
            if model is None:
                raise ClassroomError(f"saved model {model_id} is gone")
            if identity and hmac.compare_digest(model.identity_hash, digest(identity)):
                return model.data
            if class_code and teacher_token and model.class_id is not None:
                room = self.board.class_as_teacher(session, class_code, teacher_token)
                if room.id == model.class_id:
                    return model.data
            raise NotAllowed("this model was saved by another browser")
