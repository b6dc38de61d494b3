"""Images: the gallery (offset and cursor pages), detail, deletion, and the state changes the
conversion tasks make. Users see their own images, administrators everybody's; any other
image is "not found", never "forbidden", so ids reveal nothing."""

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session

from vesalius.accounts.models import User
from vesalius.accounts.permissions import ensure_active, is_admin
from vesalius.accounts.sessions import Client
from vesalius.analytics.models import ActivityType
from vesalius.common.errors import BadRequest, NotFound
from vesalius.common.pagination import Cursor, check_limit, newer_than, older_than
from vesalius.context import AppContext
from vesalius.db import after_commit, utcnow
from vesalius.imaging.catalogue import catalogue_of
from vesalius.imaging.models import FileType, Image, ImageStatus, cache_prefix
from vesalius.jobs.models import FINISHED, Job, JobStatus

if TYPE_CHECKING:
    from vesalius.uploads.receiver import StagedFile

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GalleryFilter:
    file_type: FileType | None = None
    modality: str | None = None
    status: ImageStatus | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    study_from: date | None = None
    study_to: date | None = None
    q: str | None = None

    def __post_init__(self) -> None:
        if self.created_from and self.created_to and self.created_from > self.created_to:
            raise BadRequest("'from' is after 'to'", code="invalid_date_range")
        if self.study_from and self.study_to and self.study_from > self.study_to:
            raise BadRequest("'studyFrom' is after 'studyTo'", code="invalid_date_range")


@dataclass(frozen=True)
class OffsetPage:
    images: list[Image]
    total: int
    page: int
    limit: int


@dataclass(frozen=True)
class CursorPage:
    images: list[Image]
    next_cursor: str | None
    prev_cursor: str | None
    has_more: bool
    limit: int


@dataclass
class ImageDetail:
    image: Image
    jobs: list[Job] = field(default_factory=list)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def _cursor_of(image: Image) -> str:
    return Cursor(image.created_at, image.id).encode()


class ImageService:
    def __init__(self, ctx: AppContext, session: Session) -> None:
        self.ctx = ctx
        self.session = session

    # -- gallery ------------------------------------------------------------------------------
    def _visible(self, actor: User, filters: GalleryFilter) -> Select[Image]:
        ensure_active(actor)
        stmt = select(Image)
        if not is_admin(actor):
            stmt = stmt.where(Image.user_id == actor.id)
        if filters.file_type is not None:
            stmt = stmt.where(Image.file_type == filters.file_type)
        if filters.modality:
            stmt = stmt.where(Image.modality == filters.modality.upper())
        if filters.status is not None:
            stmt = stmt.where(Image.status == filters.status)
        if filters.created_from is not None:
            stmt = stmt.where(Image.created_at >= filters.created_from)
        if filters.created_to is not None:
            stmt = stmt.where(Image.created_at <= filters.created_to)
        if filters.study_from is not None:
            stmt = stmt.where(Image.study_date >= filters.study_from)
        if filters.study_to is not None:
            stmt = stmt.where(Image.study_date <= filters.study_to)
        if filters.q and filters.q.strip():
            pattern = _like(filters.q.strip())
            stmt = stmt.where(
                or_(
                    func.lower(Image.original_name).like(pattern, escape="\\"),
                    func.lower(Image.patient_name).like(pattern, escape="\\"),
                    func.lower(Image.patient_id).like(pattern, escape="\\"),
                )
            )
        return stmt

    def list_offset(
        self, actor: User, filters: GalleryFilter, *, page: int = 1, limit: int = 20
    ) -> OffsetPage:
        check_limit(limit)
        if page < 1:
            raise BadRequest("page starts at 1", code="invalid_page", details={"page": page})
        stmt = self._visible(actor, filters)
        total = self.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = self.session.scalars(
            stmt.order_by(Image.created_at.desc(), Image.id.desc())
            .offset((page - 1) * limit)
            .limit(limit)
        )
        return OffsetPage(images=list(rows), total=total, page=page, limit=limit)

    def list_cursor(
        self,
        actor: User,
        filters: GalleryFilter,
        *,
        cursor: str | None = None,
        direction: str = "next",
        limit: int = 20,
    ) -> CursorPage:
        """Newest first. ``direction=next`` pages towards older images from ``cursor``;
        ``prev`` pages back towards newer ones. ``hasMore`` speaks of the requested direction."""
        check_limit(limit)
        if direction not in ("next", "prev"):
            raise BadRequest("direction must be 'next' or 'prev'", code="invalid_direction")
        position = Cursor.decode(cursor) if cursor else None
        stmt = self._visible(actor, filters)
        if direction == "prev" and position is not None:
            stmt = stmt.where(newer_than(Image.created_at, Image.id, position))
            rows = list(
                self.session.scalars(stmt.order_by(Image.created_at, Image.id).limit(limit + 1))
            )
            has_more = len(rows) > limit
            images = list(reversed(rows[:limit]))
            return CursorPage(
                images=images,
                next_cursor=_cursor_of(images[-1]) if images else cursor,
                prev_cursor=_cursor_of(images[0]) if images and has_more else None,
                has_more=has_more,
                limit=limit,
            )
        if position is not None:
            stmt = stmt.where(older_than(Image.created_at, Image.id, position))
        rows = list(
            self.session.scalars(
                stmt.order_by(Image.created_at.desc(), Image.id.desc()).limit(limit + 1)
            )
        )
        has_more = len(rows) > limit
        images = rows[:limit]
        return CursorPage(
            images=images,
            next_cursor=_cursor_of(images[-1]) if images and has_more else None,
            prev_cursor=_cursor_of(images[0]) if images and position is not None else None,
            has_more=has_more,
            limit=limit,
        )

    # -- activity -----------------------------------------------------------------------------
    def _record(
        self,
        actor: User,
        kind: ActivityType,
        image: Image,
        client: Client | None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.ctx.activity.record(
            actor.id,
            kind,
            resource=("image", image.id),
            details=details,
            ip=client.ip if client else None,
            user_agent=client.user_agent if client else None,
        )

    def open_view(
        self, actor: User, image_id: int, client: Client | None = None, *, dedupe_seconds: float = 0
    ) -> str:
        """Record that ``actor`` opened the image; returns the view id its duration is
        reported under. With ``dedupe_seconds``, re-opening within that time is the same view
        (a viewer fetching one preview after another is one view, not twenty)."""
        return self.note_view(
            actor, self.get_for(actor, image_id), client, dedupe_seconds=dedupe_seconds
        )

    def note_view(
        self, actor: User, image: Image, client: Client | None = None, *, dedupe_seconds: float = 0
    ) -> str:
        """``open_view`` for an image already loaded with ``get_for``."""
        key, is_new = self.ctx.activity.view_opened(
            actor.id, image.id, dedupe_seconds=dedupe_seconds
        )
        if is_new:
            self._record(actor, ActivityType.view, image, client, {"viewId": key})
        return key

    def close_view(self, actor: User, image_id: int, view_id: str, duration_ms: int) -> None:
        self.get_for(actor, image_id)
        self.ctx.activity.view_closed(view_id, duration_ms)

    def record_download(self, actor: User, image: Image, client: Client | None = None) -> None:
        self._record(actor, ActivityType.download, image, client, {"sizeBytes": image.size_bytes})

    def statuses(self, actor: User, image_ids: list[int]) -> dict[int, tuple[ImageStatus, int]]:
        """Status and overall progress (0–100) of the given images the actor may see, for
        live badges: one query for the images, one for their conversion jobs."""
        ensure_active(actor)
        if not image_ids:
            return {}
        stmt = select(Image.id, Image.status).where(Image.id.in_(image_ids))
        if not is_admin(actor):
            stmt = stmt.where(Image.user_id == actor.id)
        rows = {row.id: row.status for row in self.session.execute(stmt)}
        progress = {i: 100 if status == ImageStatus.ready else 0 for i, status in rows.items()}
        processing = [i for i, status in rows.items() if status == ImageStatus.processing]
        if processing:
            for image_id, percent in self.session.execute(
                select(Job.resource_id, Job.progress).where(
                    Job.resource_type == "image", Job.resource_id.in_(processing)
                )
            ):
                progress[image_id] = max(progress[image_id], percent)
        return {i: (status, progress[i]) for i, status in rows.items()}

    # -- one image ----------------------------------------------------------------------------
    def get_for(self, actor: User, image_id: int) -> Image:
        ensure_active(actor)
        image = self.session.get(Image, image_id)
        if image is None or not (
            is_admin(actor)
            or image.user_id == actor.id
            or catalogue_of(self.ctx).may_see(self.session, actor, image)
        ):
            raise NotFound("no such image", details={"id": image_id})
        return image

    def detail_for(self, actor: User, image_id: int) -> ImageDetail:
        from vesalius.jobs.service import JobService

        image = self.get_for(actor, image_id)
        jobs = JobService(self.ctx, self.session).latest_for("image", [image.id]).get(image.id, [])
        return ImageDetail(image=image, jobs=jobs)

    def delete(self, actor: User, image_id: int, client: Client | None = None) -> None:
        """Remove the rows now and the files right after the commit."""
        image = self.get_for(actor, image_id)
        name = image.original_name
        catalogue_of(self.ctx).forget(self.session, image.id)
        self.remove(image.id)
        self.session.commit()
        self.ctx.activity.record(
            actor.id,
            ActivityType.delete,
            resource=("image", image_id),
            details={"name": name},
            ip=client.ip if client else None,
            user_agent=client.user_agent if client else None,
        )

    def remove(self, image_id: int) -> None:
        """Delete the image row, cancel its jobs, and remove its files once committed."""
        image = self.session.get(Image, image_id)
        if image is None:
            return
        self.session.execute(
            update(Job)
            .where(
                Job.resource_type == "image",
                Job.resource_id == image.id,
                Job.status.not_in(list(FINISHED)),
            )
            .values(
                status=JobStatus.cancelled,
                lease=None,
                finished_at=utcnow(),
                message="image deleted",
            )
        )
        keys = [image.storage_key]
        blobs = self.ctx.blobs

        def remove_files() -> None:
            try:
                for key in keys:
                    blobs.delete(key)
                blobs.delete_prefix(f"derived/{image_id}/")
                blobs.delete_prefix(cache_prefix(image_id))
            except Exception:
                log.exception("image %s: files could not be removed", image_id)

        after_commit(self.session, remove_files)
        self.session.delete(image)
        self.session.flush()

    # -- state changes made by the conversion tasks -----------------------------------------
    def get(self, image_id: int) -> Image | None:
        return self.session.get(Image, image_id)

    def update_fields(self, image_id: int, **values: Any) -> None:
        self.session.execute(update(Image).where(Image.id == image_id).values(**values))

    def record_conversion(
        self, image_id: int, *, width: int, height: int, bit_depth: int, frames: int
    ) -> None:
        """What the conversion learnt from the decoded pixels; the image is ready."""
        self.update_fields(
            image_id,
            width=width,
            height=height,
            bit_depth=bit_depth,
            frames=frames,
            status=ImageStatus.ready,
            processed_at=utcnow(),
            failure_reason=None,
        )

    def mark_ready(self, image_id: int) -> None:
        self.update_fields(
            image_id, status=ImageStatus.ready, processed_at=utcnow(), failure_reason=None
        )

    def mark_failed(self, image_id: int, reason: str) -> None:
        self.update_fields(image_id, status=ImageStatus.failed, failure_reason=reason[:500])


def image_from_upload(owner_id: int, staged: "StagedFile") -> Image:
    """The row for an accepted upload, with what the header told us."""
    content_type = CONTENT_TYPES[staged.file_type]
    image = Image(
        user_id=owner_id,
        original_name=staged.filename,
        file_type=FileType(staged.file_type),
        content_type=content_type,
        size_bytes=staged.size,
        sha256=staged.sha256,
        storage_key=staged.key,
        status=ImageStatus.processing,
    )
    if staged.dicom is not None:
        d = staged.dicom
        image.width, image.height = d.columns, d.rows
        image.bit_depth = d.bits_stored or d.bits_allocated
        image.frames = d.frames or 1
        for name in DICOM_FIELDS:
            setattr(image, name, getattr(d, name))
    elif staged.raster is not None:
        r = staged.raster
        image.width, image.height, image.bit_depth = r.width, r.height, r.bit_depth
        image.frames = r.frames or 1
    return image


CONTENT_TYPES = {
    "dcm": "application/dicom",
    "png": "image/png",
    "jpg": "image/jpeg",
    "tif": "image/tiff",
    "bmp": "image/bmp",
}
DICOM_FIELDS = (
    "patient_id",
    "patient_name",
    "study_instance_uid",
    "series_instance_uid",
    "sop_instance_uid",
    "sop_class_uid",
    "modality",
    "study_date",
    "body_part",
    "view_position",
    "laterality",
    "manufacturer",
    "photometric_interpretation",
    "transfer_syntax_uid",
    "window_center",
    "window_width",
)
