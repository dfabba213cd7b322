"""Baseline: the store as changeflow made it before migrations (SQLModel's create_all), frozen
here so that later model changes come as revisions of their own, plus the SQLite triggers that
keep the audit tables append-only.

On an empty database it creates everything. On a store made before migrations (the tables, no
alembic_version) it keeps every row and adds only what that store lacks: tables, the nullable
columns added since it was made, indexes, triggers.

Revision ID: 0001
Revises:
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = {  # audit table -> what a new row may not share with a recorded one
    "audit_event": "id = NEW.id OR event_key = NEW.event_key OR "
    "(change_id = NEW.change_id AND seq = NEW.seq)",
    "audit_anchor": "id = NEW.id",
}


def schema() -> sa.MetaData:
    """Every table of the store at the baseline (what store/tables.py and
    store/thread/schema.py held then); never edited: a change to the models is a new revision."""
    metadata = sa.MetaData()
    sa.Table(
        "app_user",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("plant", sa.String(), nullable=True),
        sa.Column("token_hash", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("full_name", sa.String(), nullable=True),
        sa.Column("password_hash", sa.String(), nullable=True),
        sa.Column("failed_signings", sa.Integer(), nullable=True),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signing_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_app_user_name", "name", unique=True),
        sa.Index("ix_app_user_token_hash", "token_hash", unique=True),
    )
    sa.Table(
        "artifact",
        metadata,
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("change_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_artifact_change_id", "change_id"),
        sa.Index("ix_artifact_kind", "kind"),
    )
    sa.Table(
        "audit_anchor",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heads", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(), nullable=False),
        sa.Column("key_id", sa.String(), nullable=False),
        sa.Column("signature", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    sa.Table(
        "audit_event",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("change_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("event_key", sa.String(), nullable=False),
        sa.Column("chain_key", sa.String(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(), nullable=False),
        sa.Column("hash", sa.String(), nullable=False),
        sa.Column("actor_name", sa.String(), nullable=True),
        sa.Column("workflow_id", sa.String(), nullable=True),
        sa.Column("run_id", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("change_id", "seq"),
        sa.UniqueConstraint("event_key"),
        sa.Index("ix_audit_event_change_id", "change_id"),
    )
    sa.Table(
        "change_registry",
        metadata,
        sa.Column("change_id", sa.String(), nullable=False),
        sa.Column("chain_key", sa.String(), nullable=False),
        sa.Column("submitted_by", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("change_id"),
    )
    sa.Table(
        "notification",
        metadata,
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("change_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("recipient", sa.String(), nullable=False),
        sa.Column("approval", sa.String(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_notification_change_id", "change_id"),
        sa.Index("ix_notification_kind", "kind"),
        sa.Index("ix_notification_status", "status"),
    )
    sa.Table(
        "plan_task",
        metadata,
        sa.Column("change_id", sa.String(), nullable=False),
        sa.Column("task_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("error", sa.String(), nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("change_id", "task_id"),
    )
    sa.Table(
        "thread_characteristic",
        metadata,
        sa.Column("plant", sa.String(), nullable=False),
        sa.Column("plan", sa.String(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("key", sa.Boolean(), nullable=False),
        sa.Column("safety", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("plant", "plan", "id"),
    )
    sa.Table(
        "thread_ebom",
        metadata,
        sa.Column("parent", sa.String(), nullable=False),
        sa.Column("child", sa.String(), nullable=False),
        sa.Column("qty", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("parent", "child"),
        sa.Index("ix_thread_ebom_child", "child"),
    )
    sa.Table(
        "thread_equipment",
        metadata,
        sa.Column("plant", sa.String(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("work_center", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("plant", "id"),
    )
    sa.Table(
        "thread_inspection_plan",
        metadata,
        sa.Column("plant", sa.String(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("part", sa.String(), nullable=False),
        sa.Column("part_rev", sa.String(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("plant", "id"),
        sa.Index("ix_thread_inspection_plan_part", "part"),
    )
    sa.Table(
        "thread_inventory",
        metadata,
        sa.Column("plant", sa.String(), nullable=False),
        sa.Column("part", sa.String(), nullable=False),
        sa.Column("rev", sa.String(), nullable=False),
        sa.Column("location", sa.String(), nullable=False),
        sa.Column("qty", sa.Float(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("plant", "part", "rev", "location"),
        sa.Index("ix_thread_inventory_part", "part"),
    )
    sa.Table(
        "thread_mbom",
        metadata,
        sa.Column("plant", sa.String(), nullable=False),
        sa.Column("parent", sa.String(), nullable=False),
        sa.Column("child", sa.String(), nullable=False),
        sa.Column("rev", sa.String(), nullable=False),
        sa.Column("qty", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("plant", "parent", "child"),
        sa.Index("ix_thread_mbom_child", "child"),
    )
    sa.Table(
        "thread_nc_program",
        metadata,
        sa.Column("plant", sa.String(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("equipment", sa.String(), nullable=False),
        sa.Column("routing", sa.String(), nullable=False),
        sa.Column("op_no", sa.Integer(), nullable=False),
        sa.Column("part", sa.String(), nullable=False),
        sa.Column("revision", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("plant", "id"),
        sa.Index("ix_thread_nc_program_part", "part"),
    )
    sa.Table(
        "thread_operation",
        metadata,
        sa.Column("plant", sa.String(), nullable=False),
        sa.Column("routing", sa.String(), nullable=False),
        sa.Column("op_no", sa.Integer(), nullable=False),
        sa.Column("part", sa.String(), nullable=False),
        sa.Column("work_center", sa.String(), nullable=False),
        sa.Column("std_time", sa.Float(), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("plant", "routing", "op_no"),
        sa.Index("ix_thread_operation_part", "part"),
    )
    sa.Table(
        "thread_operation_part",
        metadata,
        sa.Column("plant", sa.String(), nullable=False),
        sa.Column("routing", sa.String(), nullable=False),
        sa.Column("op_no", sa.Integer(), nullable=False),
        sa.Column("part", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("plant", "routing", "op_no", "part"),
        sa.Index("ix_thread_operation_part_part", "part"),
    )
    sa.Table(
        "thread_part",
        metadata,
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("revision", sa.String(), nullable=False),
        sa.Column("revisions", sa.String(), nullable=False),
        sa.Column("safety", sa.Boolean(), nullable=False),
        sa.Column("regulated", sa.Boolean(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("number"),
    )
    sa.Table(
        "thread_plant",
        metadata,
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    sa.Table(
        "thread_production_order",
        metadata,
        sa.Column("plant", sa.String(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("part", sa.String(), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("critical", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("plant", "id"),
        sa.Index("ix_thread_production_order_part", "part"),
    )
    sa.Table(
        "thread_purchase_order",
        metadata,
        sa.Column("plant", sa.String(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("supplier", sa.String(), nullable=False),
        sa.Column("part", sa.String(), nullable=False),
        sa.Column("rev", sa.String(), nullable=False),
        sa.Column("qty", sa.Float(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("plant", "id"),
        sa.Index("ix_thread_purchase_order_part", "part"),
    )
    sa.Table(
        "thread_qualification",
        metadata,
        sa.Column("plant", sa.String(), nullable=False),
        sa.Column("operator", sa.String(), nullable=False),
        sa.Column("routing", sa.String(), nullable=False),
        sa.Column("op_no", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("plant", "operator", "routing", "op_no"),
    )
    sa.Table(
        "thread_stage",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sync_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("plant", sa.String(), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_thread_stage_sync_id", "sync_id"),
    )
    sa.Table(
        "thread_state",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=True),
        sa.Column("full_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    sa.Table(
        "thread_sync_run",
        metadata,
        sa.Column("sync_id", sa.String(), nullable=False),
        sa.Column("mode", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("sync_id"),
    )
    sa.Table(
        "thread_wi_part",
        metadata,
        sa.Column("plant", sa.String(), nullable=False),
        sa.Column("wi", sa.String(), nullable=False),
        sa.Column("part", sa.String(), nullable=False),
        sa.Column("rev", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("plant", "wi", "part"),
        sa.Index("ix_thread_wi_part_part", "part"),
    )
    sa.Table(
        "thread_work_instruction",
        metadata,
        sa.Column("plant", sa.String(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("routing", sa.String(), nullable=False),
        sa.Column("op_no", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("plant", "id"),
    )
    sa.Table(
        "web_session",
        metadata,
        sa.Column("id_hash", sa.String(), nullable=False),
        sa.Column("user_name", sa.String(), nullable=False),
        sa.Column("csrf", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id_hash"),
        sa.Index("ix_web_session_user_name", "user_name"),
    )

    return metadata


def _triggers() -> list[str]:
    """SQLite: UPDATE and DELETE on an audit table are refused, and so is an INSERT that would
    replace a recorded row (INSERT OR REPLACE deletes without firing DELETE triggers)."""
    statements = []
    for table, same in APPEND_ONLY.items():
        refusal = (
            f"SELECT RAISE(ABORT, '{table} is append-only: audit records are never changed or "
            "removed')"
        )
        for verb in ("UPDATE", "DELETE"):
            statements.append(
                f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN {refusal}; END"
            )
        statements.append(
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_replace BEFORE INSERT ON {table} "
            f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {same}) BEGIN {refusal}; END"
        )
    return statements


def upgrade() -> None:
    bind = op.get_bind()
    metadata = schema()
    inspector = sa.inspect(bind)
    present = set(inspector.get_table_names())
    metadata.create_all(bind, tables=[t for t in metadata.sorted_tables if t.name not in present])
    for table in metadata.sorted_tables:  # a store made before migrations: what it lacks
        if table.name in present:
            _complete(bind, inspector, table)
    if bind.dialect.name == "sqlite":
        for statement in _triggers():
            op.execute(statement)


def _complete(bind: sa.engine.Connection, inspector: sa.Inspector, table: sa.Table) -> None:
    columns = {c["name"] for c in inspector.get_columns(table.name)}
    for column in table.columns:
        if column.name in columns:
            continue
        if not column.nullable:
            raise RuntimeError(
                f"the store's table {table.name} lacks column {column.name}, which cannot be "
                "added to rows already there: this store was not made by changeflow"
            )
        op.add_column(table.name, sa.Column(column.name, column.type, nullable=True))
    indexes = {i["name"] for i in inspector.get_indexes(table.name)}
    for index in table.indexes:
        if index.name not in indexes:
            index.create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for table in APPEND_ONLY:
            for kind in ("update", "delete", "replace"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{kind}")
    schema().drop_all(bind)
