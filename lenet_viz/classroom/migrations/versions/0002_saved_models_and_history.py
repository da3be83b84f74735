"""saved models and run history under a browser's identity

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 20:26:40.394180
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "personal_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity_hash", sa.String(length=64), nullable=False),
        sa.Column("run_uid", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("curves", sa.JSON(), nullable=False),
        sa.Column("train_accuracy", sa.Float(), nullable=True),
        sa.Column("test_accuracy", sa.Float(), nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("identity_hash", "run_uid"),
    )
    with op.batch_alter_table("personal_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_personal_runs_finished_at"), ["finished_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_personal_runs_identity_hash"), ["identity_hash"], unique=False
        )

    op.create_table(
        "saved_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity_hash", sa.String(length=64), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["class_id"], ["classes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("saved_models", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_saved_models_class_id"), ["class_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_saved_models_identity_hash"), ["identity_hash"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("saved_models", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saved_models_identity_hash"))
        batch_op.drop_index(batch_op.f("ix_saved_models_class_id"))

    op.drop_table("saved_models")
    with op.batch_alter_table("personal_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_personal_runs_identity_hash"))
        batch_op.drop_index(batch_op.f("ix_personal_runs_finished_at"))

    op.drop_table("personal_runs")
