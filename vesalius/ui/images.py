"""What the gallery and the viewer know about an image, and the signed links they hand to the
browser.

The browser holds no bearer token (tokens stay in server-side storage), so every ``<img
src>``, download and upload goes through a link signed for the signed-in user
(``accounts.signed_urls``). The API still checks on each use that this user may see the
image; a signature only stands in for the header.
"""

from dataclasses import dataclass, fields
from datetime import date, datetime
from urllib.parse import urlencode

from vesalius.accounts.signed_urls import sign_path
from vesalius.context import AppContext
from vesalius.imaging.models import FileType, Image, ImageStatus

FILE_TYPE_LABELS = {
    FileType.dcm: "DICOM",
    FileType.png: "PNG",
    FileType.jpg: "JPEG",
    FileType.tif: "TIFF",
    FileType.bmp: "BMP",
}
STATUS_LABELS = {
    ImageStatus.processing: "Processing",
    ImageStatus.ready: "Ready",
    ImageStatus.failed: "Failed",
}
STATUS_COLORS = {
    ImageStatus.processing: "amber-8",
    ImageStatus.ready: "positive",
    ImageStatus.failed: "negative",
}
THUMBNAIL_SIZE = 256
# The viewer's picture: big enough for a full-screen view and 2× zoom on a laptop, small
# enough that a new window setting arrives in a fraction of a second.
PREVIEW_SIZE = 1536


@dataclass(frozen=True)
class ImageInfo:
    """An image as a page shows it, copied out of the database session that loaded it."""

    id: int
    user_id: int
    original_name: str
    file_type: FileType
    size_bytes: int
    sha256: str
    width: int | None
    height: int | None
    bit_depth: int | None
    frames: int
    status: ImageStatus
    failure_reason: str | None
    created_at: datetime
    processed_at: datetime | None
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

    @classmethod
    def of(cls, image: Image) -> "ImageInfo":
        return cls(**{field.name: getattr(image, field.name) for field in fields(cls)})

    @property
    def is_dicom(self) -> bool:
        return self.file_type == FileType.dcm

    @property
    def is_greyscale_dicom(self) -> bool:
        """Window/level applies: a DICOM image stored as grey values (not colour)."""
        photometric = (self.photometric_interpretation or "MONOCHROME2").upper()
        return self.is_dicom and photometric.startswith("MONOCHROME")

    @property
    def patient(self) -> str | None:
        """DICOM person names use ^ between parts: "DOE^JANE" reads "DOE JANE"."""
        name = " ".join(part for part in (self.patient_name or "").split("^") if part)
        return name or self.patient_id


class Links:
    """Signed links for one signed-in user (valid one to two hours; see ``sign_path``)."""

    def __init__(self, ctx: AppContext, user_id: int) -> None:
        self.ctx = ctx
        self.user_id = user_id

    def _signed(self, path: str, **query: str | int | float) -> str:
        target = f"{path}?{urlencode(query)}" if query else path
        return sign_path(self.ctx.keys, target, self.user_id)

    def upload(self) -> str:
        return self._signed("/api/upload")

    def thumbnail(self, image_id: int, size: int = THUMBNAIL_SIZE) -> str:
        return self._signed(f"/api/images/{image_id}/thumbnail", size=size)

    def download(self, image_id: int) -> str:
        return self._signed(f"/api/images/{image_id}/download")

    def preview(
        self,
        image_id: int,
        *,
        window: tuple[float, float] | None = None,
        frame: int = 0,
        size: int = PREVIEW_SIZE,
    ) -> str:
        query: dict[str, str | int | float] = {"size": size}
        if frame:
            query["frame"] = frame
        if window is not None:
            query["windowCenter"] = _number(window[0])
            query["windowWidth"] = _number(window[1])
        return self._signed(f"/api/images/{image_id}/preview", **query)


def _number(value: float) -> str:
    """1500.0 → "1500": short links, and one cache entry per window however it was typed."""
    rounded = round(value, 1)
    return str(int(rounded)) if rounded == int(rounded) else str(rounded)


def human_size(size: int) -> str:
    amount = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if amount < 1024 or unit == "GB":
            return f"{amount:.0f} {unit}" if unit == "bytes" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{size} bytes"
