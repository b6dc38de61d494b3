"""jobs and images

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 13:48:00.673462
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import vesalius.db


revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "images",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("original_name", sa.String(length=255), nullable=False),
        sa.Column(
            "file_type",
            sa.Enum(
                "dcm",
                "png",
                "jpg",
                "tif",
                "bmp",
                name="image_file_type",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=300), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("bit_depth", sa.Integer(), nullable=True),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "processing",
                "ready",
                "failed",
                name="image_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("failure_reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", vesalius.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", vesalius.db.UTCDateTime(), nullable=False),
        sa.Column("processed_at", vesalius.db.UTCDateTime(), nullable=True),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("patient_name", sa.String(length=200), nullable=True),
        sa.Column("study_instance_uid", sa.String(length=64), nullable=True),
        sa.Column("series_instance_uid", sa.String(length=64), nullable=True),
        sa.Column("sop_instance_uid", sa.String(length=64), nullable=True),
        sa.Column("sop_class_uid", sa.String(length=64), nullable=True),
        sa.Column("modality", sa.String(length=16), nullable=True),
        sa.Column("study_date", sa.Date(), nullable=True),
        sa.Column("body_part", sa.String(length=64), nullable=True),
        sa.Column("view_position", sa.String(length=16), nullable=True),
        sa.Column("laterality", sa.String(length=4), nullable=True),
        sa.Column("manufacturer", sa.String(length=200), nullable=True),
        sa.Column("photometric_interpretation", sa.String(length=32), nullable=True),
        sa.Column("transfer_syntax_uid", sa.String(length=64), nullable=True),
        sa.Column("window_center", sa.Double(), nullable=True),
        sa.Column("window_width", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_images_user_id_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_images")),
    )
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.create_index("ix_images_created_id", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_images_file_type", ["file_type"], unique=False)
        batch_op.create_index("ix_images_sha256", ["sha256"], unique=False)
        batch_op.create_index("ix_images_sop_instance_uid", ["sop_instance_uid"], unique=False)
        batch_op.create_index("ix_images_study_instance_uid", ["study_instance_uid"], unique=False)
        batch_op.create_index(
            "ix_images_user_created_id", ["user_id", "created_at", "id"], unique=False
        )

    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=60), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "running",
                "retrying",
                "completed",
                "failed",
                "cancelled",
                name="job_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(length=200), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("input", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("worker", sa.String(length=120), nullable=True),
        sa.Column("lease", sa.String(length=32), nullable=True),
        sa.Column("resource_type", sa.String(length=40), nullable=True),
        sa.Column("resource_id", sa.Integer(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("created_at", vesalius.db.UTCDateTime(), nullable=False),
        sa.Column("enqueued_at", vesalius.db.UTCDateTime(), nullable=True),
        sa.Column("run_after", vesalius.db.UTCDateTime(), nullable=True),
        sa.Column("started_at", vesalius.db.UTCDateTime(), nullable=True),
        sa.Column("heartbeat_at", vesalius.db.UTCDateTime(), nullable=True),
        sa.Column("finished_at", vesalius.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_jobs_owner_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_finished_at", ["finished_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_jobs_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index("ix_jobs_queue_status", ["queue", "status"], unique=False)
        batch_op.create_index("ix_jobs_resource", ["resource_type", "resource_id"], unique=False)
        batch_op.create_index(
            "ix_jobs_status_heartbeat_at", ["status", "heartbeat_at"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_status_heartbeat_at")
        batch_op.drop_index("ix_jobs_resource")
        batch_op.drop_index("ix_jobs_queue_status")
        batch_op.drop_index(batch_op.f("ix_jobs_owner_id"))
        batch_op.drop_index("ix_jobs_finished_at")

    op.drop_table("jobs")
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.drop_index("ix_images_user_created_id")
        batch_op.drop_index("ix_images_study_instance_uid")
        batch_op.drop_index("ix_images_sop_instance_uid")
        batch_op.drop_index("ix_images_sha256")
        batch_op.drop_index("ix_images_file_type")
        batch_op.drop_index("ix_images_created_id")

    op.drop_table("images")
