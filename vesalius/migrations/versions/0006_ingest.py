"""ingest: image and job ids are never reused (SQLite AUTOINCREMENT)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 23:00:00

Without AUTOINCREMENT SQLite hands the id of the newest row to the next insert once that
row is deleted: a new image took a deleted image's id, and the deleted image's finished
thumbnail job was taken for the new one's (the new image stayed "processing"). PostgreSQL
sequences never go back, so only SQLite's tables are rebuilt (rows, indexes and the ids
already handed out are kept; the counter starts above the highest id).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("images", "jobs")


def upgrade() -> None:
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
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(table, recreate="always"):
            pass
