"""The store's tables. Never passed as workflow payloads: DTOs in domain/ travel instead."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class ArtifactRow(SQLModel, table=True):
    __tablename__ = "artifact"

    id: str = Field(primary_key=True)
    change_id: str = Field(index=True)
    kind: str = Field(index=True)
    created_at: datetime
    content: str = Field(sa_column=Column(Text, nullable=False))


class ChangeRow(SQLModel, table=True):
    """Every change id ever used, with the key that owns its audit chain: ids are never reused."""

    __tablename__ = "change_registry"

    change_id: str = Field(primary_key=True)
    chain_key: str
    submitted_by: str
    title: str = ""
    created_at: datetime
    source: str = Field(default="api", description="api, or temporal for a run started there")


class AuditRow(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (UniqueConstraint("change_id", "seq"), UniqueConstraint("event_key"))

    id: int | None = Field(default=None, primary_key=True)
    change_id: str = Field(index=True)
    seq: int
    event_key: str = Field(description="Idempotency key: a retried write records once.")
    chain_key: str | None = Field(
        default=None, description="The change's chain owner (see ChangeRow); in every hash."
    )
    at: datetime
    actor: str
    action: str
    detail: str = Field(sa_column=Column(Text, nullable=False))
    prev_hash: str
    hash: str
    actor_name: str | None = None  # the actor's printed name, when a person
    workflow_id: str | None = None
    run_id: str | None = None


class AuditAnchorRow(SQLModel, table=True):
    """A signed checkpoint of every audit chain's head (store/audit/anchors.py):
    truncating a chain's tail after a checkpoint is detected. Append-only, like the audit events."""

    __tablename__ = "audit_anchor"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    heads: str = Field(sa_column=Column(Text, nullable=False))  # {change_id: [seq, hash]}
    digest: str
    key_id: str
    signature: str


class UserRow(SQLModel, table=True):
    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    role: str
    plant: str | None = None
    token_hash: str = Field(unique=True, index=True)
    created_at: datetime
    token_expires_at: datetime | None = None
    revoked_at: datetime | None = None
    full_name: str | None = None  # printed on their electronic signatures
    password_hash: str | None = None  # argon2id, for signing decisions (store/credentials.py)
    failed_signings: int | None = None  # wrong passwords (sign-in or signing) since a right one
    locked_at: datetime | None = None  # until an admin unlocks or [approvals] lock_minutes pass


class PlanTaskRow(SQLModel, table=True):
    """A large plan's task status (store/plan_tasks.py)."""

    __tablename__ = "plan_task"

    change_id: str = Field(primary_key=True)
    task_id: str = Field(primary_key=True)
    status: str
    before: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    error: str | None = None
    verified: bool | None = None
    updated_at: datetime | None = None


class NotificationRow(SQLModel, table=True):
    """The outbox: reminders, escalations, expiries and overdue notices a mail or Teams
    integration delivers (reading `pending`, marking `sent`). One row per change and notice key."""

    __tablename__ = "notification"

    id: str = Field(primary_key=True, description="<change id>:<notice key>")
    change_id: str = Field(index=True)
    kind: str = Field(index=True)
    recipient: str
    approval: str = ""
    message: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime
    status: str = Field(default="pending", index=True)
    sent_at: datetime | None = None


class WebSessionRow(SQLModel, table=True):
    """A signed-in approver's page session (starter/web/pages.py): only the hash of the cookie's
    value is kept, with the session's CSRF token."""

    __tablename__ = "web_session"

    id_hash: str = Field(primary_key=True)
    user_name: str = Field(index=True)
    csrf: str
    created_at: datetime
    expires_at: datetime
    first_signed_at: datetime | None = None  # its first signing (name and password) was made
    signing_until: datetime | None = None  # no password until then (signing_session_minutes)


class SecurityEventRow(SQLModel, table=True):
    """What happened to people's credentials (store/security_events.py): locks after wrong
    passwords, their expiry and an admin's unlock, throttled names and addresses, passwords set.
    Append-only, like the audit trail of changes."""

    __tablename__ = "security_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    kind: str = Field(index=True)
    user_name: str | None = Field(default=None, index=True)
    address: str | None = None
    actor: str
    detail: str = Field(sa_column=Column(Text, nullable=False))
