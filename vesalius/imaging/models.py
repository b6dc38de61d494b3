from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from vesalius.db import Base, string_enum, utcnow


class FileType(StrEnum):
    dcm = "dcm"
    png = "png"
    jpg = "jpg"
    tif = "tif"
    bmp = "bmp"


class ImageStatus(StrEnum):
    processing = "processing"
    ready = "ready"
    failed = "failed"


class Image(Base):
    """An uploaded image and, for DICOM, the attributes people search and sort by."""

    __tablename__ = "images"
    # Seed 000: user_id, created_at, file_type and (user_id, created_at desc, id desc). The
    # composites end in the newest-first sort keys so a gallery page is one range scan for a
    # user (first) and for an administrator looking at everybody's images (second), and
    # the file-type filter is one range scan too (third), not a sort of every match.
    __table_args__ = (
        Index("ix_images_user_created_id", "user_id", "created_at", "id"),
        Index("ix_images_created_id", "created_at", "id"),
        Index("ix_images_file_type_created_id", "file_type", "created_at", "id"),
        Index("ix_images_study_instance_uid", "study_instance_uid"),
        Index("ix_images_sop_instance_uid", "sop_instance_uid"),
        Index("ix_images_sha256", "sha256"),
        Index("ix_images_view_count_id", "view_count", "id"),
        # SQLite: never hand a deleted row's id to a new one (migration 0006).
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    original_name: Mapped[str] = mapped_column(String(255))
    file_type: Mapped[FileType] = mapped_column(string_enum(FileType, "image_file_type"))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(300))
    width: Mapped[int | None]
    height: Mapped[int | None]
    bit_depth: Mapped[int | None]
    frames: Mapped[int] = mapped_column(default=1)
    status: Mapped[ImageStatus] = mapped_column(
        string_enum(ImageStatus, "image_status"), default=ImageStatus.processing
    )
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    processed_at: Mapped[datetime | None]
    # Views ever recorded (the recorder adds each batch's): "most viewed" reads the top of
    # its index instead of grouping every row of image_views.
    view_count: Mapped[int] = mapped_column(default=0, server_default="0")

    # DICOM attributes (null for ordinary images).
    patient_id: Mapped[str | None] = mapped_column(String(64))
    patient_name: Mapped[str | None] = mapped_column(String(200))
    study_instance_uid: Mapped[str | None] = mapped_column(String(64))
    series_instance_uid: Mapped[str | None] = mapped_column(String(64))
    sop_instance_uid: Mapped[str | None] = mapped_column(String(64))
    sop_class_uid: Mapped[str | None] = mapped_column(String(64))
    modality: Mapped[str | None] = mapped_column(String(16))
    study_date: Mapped[date | None]
    body_part: Mapped[str | None] = mapped_column(String(64))
    view_position: Mapped[str | None] = mapped_column(String(16))
    laterality: Mapped[str | None] = mapped_column(String(4))
    manufacturer: Mapped[str | None] = mapped_column(String(200))
    photometric_interpretation: Mapped[str | None] = mapped_column(String(32))
    transfer_syntax_uid: Mapped[str | None] = mapped_column(String(64))
    window_center: Mapped[float | None]
    window_width: Mapped[float | None]


def preview_key(image_id: int) -> str:
    return f"derived/{image_id}/preview.png"


def thumbnail_key(image_id: int, size: int) -> str:
    return f"derived/{image_id}/thumb-{size}.jpg"


def cache_prefix(image_id: int) -> str:
    return f"cache/{image_id}/"


THUMBNAIL_SIZES = (256, 512)
