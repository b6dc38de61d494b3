from datetime import date, datetime

from vesalius.common.schemas import ApiModel
from vesalius.imaging.models import FileType, Image, ImageStatus
from vesalius.jobs.schemas import JobOut


class DicomOut(ApiModel):
    patient_id: str | None
    patient_name: str | None
    study_instance_uid: str | None
    series_instance_uid: str | None
    sop_instance_uid: str | None
    sop_class_uid: str | None
    modality: str | None
    study_date: date | None
    body_part: str | None
    view_position: str | None
    laterality: str | None
    manufacturer: str | None
    photometric_interpretation: str | None
    transfer_syntax_uid: str | None
    window_center: float | None
    window_width: float | None


class ImageUrls(ApiModel):
    file: str
    download: str
    preview: str
    thumbnail: str


class ImageOut(ApiModel):
    id: int
    user_id: int
    original_name: str
    file_type: FileType
    content_type: str
    size_bytes: int
    sha256: str
    width: int | None
    height: int | None
    bit_depth: int | None
    frames: int
    status: ImageStatus
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime
    processed_at: datetime | None
    dicom: DicomOut | None
    urls: ImageUrls


def image_out(image: Image) -> ImageOut:
    base = f"/api/images/{image.id}"
    return ImageOut(
        id=image.id,
        user_id=image.user_id,
        original_name=image.original_name,
        file_type=image.file_type,
        content_type=image.content_type,
        size_bytes=image.size_bytes,
        sha256=image.sha256,
        width=image.width,
        height=image.height,
        bit_depth=image.bit_depth,
        frames=image.frames,
        status=image.status,
        failure_reason=image.failure_reason,
        created_at=image.created_at,
        updated_at=image.updated_at,
        processed_at=image.processed_at,
        dicom=DicomOut.model_validate(image) if image.file_type == FileType.dcm else None,
        urls=ImageUrls(
            file=f"{base}/file",
            download=f"{base}/download",
            preview=f"{base}/preview",
            thumbnail=f"{base}/thumbnail",
        ),
    )


class ImageDetailOut(ImageOut):
    jobs: list[JobOut]


class GalleryPageOut(ApiModel):
    images: list[ImageOut]
    total: int
    page: int
    limit: int


class GalleryCursorOut(ApiModel):
    images: list[ImageOut]
    next_cursor: str | None
    prev_cursor: str | None
    has_more: bool
    limit: int
