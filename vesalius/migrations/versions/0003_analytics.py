"""analytics

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 14:28:00.148728
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import vesalius.db


revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "system_stats",
        sa.Column("stat_date", sa.Date(), nullable=False),
        sa.Column("total_users", sa.Integer(), nullable=False),
        sa.Column("active_users", sa.Integer(), nullable=False),
        sa.Column("new_users", sa.Integer(), nullable=False),
        sa.Column("total_images", sa.Integer(), nullable=False),
        sa.Column("new_images", sa.Integer(), nullable=False),
        sa.Column("uploads", sa.Integer(), nullable=False),
        sa.Column("upload_bytes", sa.BigInteger(), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("downloads", sa.Integer(), nullable=False),
        sa.Column("logins", sa.Integer(), nullable=False),
        sa.Column("storage_used_bytes", sa.BigInteger(), nullable=False),
        sa.Column("file_types", sa.JSON(), nullable=False),
        sa.Column("computed_at", vesalius.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("stat_date", name=op.f("pk_system_stats")),
    )
    op.create_table(
        "user_activity",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("activity_type", sa.String(length=32), nullable=False),
        sa.Column("resource_type", sa.String(length=32), nullable=True),
        sa.Column("resource_id", sa.BigInteger(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.Column("ip_address", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=400), nullable=True),
        sa.Column("created_at", vesalius.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_activity_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_activity")),
    )
    with op.batch_alter_table("user_activity", schema=None) as batch_op:
        batch_op.create_index("ix_user_activity_created_at_id", ["created_at", "id"], unique=False)
        batch_op.create_index(
            "ix_user_activity_type_created", ["activity_type", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_user_activity_user_created", ["user_id", "created_at"], unique=False
        )

    op.create_table(
        "image_views",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("view_key", sa.String(length=32), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("viewed_at", vesalius.db.UTCDateTime(), nullable=False),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["images.id"],
            name=op.f("fk_image_views_image_id_images"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_image_views_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_image_views")),
        sa.UniqueConstraint("view_key", name=op.f("uq_image_views_view_key")),
    )
    with op.batch_alter_table("image_views", schema=None) as batch_op:
        batch_op.create_index("ix_image_views_image_id", ["image_id"], unique=False)
        batch_op.create_index("ix_image_views_user_id", ["user_id"], unique=False)
        batch_op.create_index("ix_image_views_viewed_at", ["viewed_at"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_active_at", vesalius.db.UTCDateTime(), nullable=True))
        batch_op.create_index("ix_users_last_active_at", ["last_active_at"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_last_active_at")
        batch_op.drop_column("last_active_at")

    with op.batch_alter_table("image_views", schema=None) as batch_op:
        batch_op.drop_index("ix_image_views_viewed_at")
        batch_op.drop_index("ix_image_views_user_id")
        batch_op.drop_index("ix_image_views_image_id")

    op.drop_table("image_views")
    with op.batch_alter_table("user_activity", schema=None) as batch_op:
        batch_op.drop_index("ix_user_activity_user_created")
        batch_op.drop_index("ix_user_activity_type_created")
        batch_op.drop_index("ix_user_activity_created_at_id")

    op.drop_table("user_activity")
    op.drop_table("system_stats")
