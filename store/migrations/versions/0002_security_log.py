"""The security log (store/security_events.py: locks, unlocks, throttling, passwords set), and
signing sessions move from the user to the page session (store/web_sessions.py).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "security_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("user_name", sa.String(), nullable=True),
        sa.Column("address", sa.String(), nullable=True),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("security_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_security_event_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_security_event_kind"), ["kind"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_security_event_user_name"), ["user_name"], unique=False
        )

    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("signing_until")

    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_signed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("signing_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.drop_column("signing_until")
        batch_op.drop_column("first_signed_at")

    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signing_until", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("security_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_security_event_user_name"))
        batch_op.drop_index(batch_op.f("ix_security_event_kind"))
        batch_op.drop_index(batch_op.f("ix_security_event_at"))

    op.drop_table("security_event")
