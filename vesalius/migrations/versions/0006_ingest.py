"""ingest: image and job ids are never reused (SQLite AUTOINCREMENT); worker heartbeats

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 23:00:00

Without AUTOINCREMENT SQLite hands the id of the newest row to the next insert once that
row is deleted: a new image took a deleted image's id, and the deleted image's finished
thumbnail job was taken for the new one's (the new image stayed "processing"). PostgreSQL
sequences never go back, so only SQLite's tables are rebuilt (rows, indexes and the ids
already handed out are kept; the counter starts above the highest id).

``job_workers``: one heartbeat row per worker process, beaten with its running jobs in one
transaction (jobs no longer beat one by one).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from vesalius.db import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("images", "jobs")


def upgrade() -> None:
    op.create_table(
        "job_workers",
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("host", sa.String(100), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("queues", sa.String(200), nullable=False),
        sa.Column("running", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_workers")),
    )
    op.create_index(
        op.f("ix_job_workers_heartbeat_at"), "job_workers", ["heartbeat_at"], unique=False
    )
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        # Alembic's migration connection runs with foreign keys off (the sqlite3 default),
        # so rebuilding images does not cascade into the rows that refer to it.
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass


def downgrade() -> None:
    op.drop_index(op.f("ix_job_workers_heartbeat_at"), table_name="job_workers")
    op.drop_table("job_workers")
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(table, recreate="always"):
            pass
