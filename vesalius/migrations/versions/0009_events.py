"""events: raw events (idempotent by event id), per-minute figures, ingest keys (issue 11)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import vesalius.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", vesalius.db.UTCDateTime(), nullable=False),
        sa.Column("received_at", vesalius.db.UTCDateTime(), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("session_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=True),
        sa.Column("route", sa.String(length=512), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=True),
        sa.Column("properties", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_events_event_id")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_occurred_at_id", ["occurred_at", "id"], unique=False)
        batch_op.create_index(
            "ix_events_client_occurred", ["client_id", "occurred_at"], unique=False
        )
        batch_op.create_index("ix_events_user_occurred", ["user_id", "occurred_at"], unique=False)
        batch_op.create_index("ix_events_received_at", ["received_at"], unique=False)

    op.create_table(
        "event_minutes",
        sa.Column("minute", vesalius.db.UTCDateTime(), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.BigInteger(), nullable=False),
        sa.Column("users", sa.Integer(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("duration_sum_ms", sa.Float(), nullable=False),
        sa.Column("duration_count", sa.BigInteger(), nullable=False),
        sa.Column("by_type", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("minute", "client_id", name=op.f("pk_event_minutes")),
    )
    op.create_table(
        "ingest_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("key_prefix", sa.String(length=16), nullable=False),
        sa.Column("allowed_origins", sa.JSON(), nullable=True),
        sa.Column("rate_per_minute", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", vesalius.db.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", vesalius.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_ingest_keys_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_ingest_keys_key_hash")),
    )


def downgrade() -> None:
    op.drop_table("ingest_keys")
    op.drop_table("event_minutes")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_received_at")
        batch_op.drop_index("ix_events_user_occurred")
        batch_op.drop_index("ix_events_client_occurred")
        batch_op.drop_index("ix_events_occurred_at_id")
    op.drop_table("events")
