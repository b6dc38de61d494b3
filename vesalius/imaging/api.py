from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from typing import Annotated
from urllib.parse import quote

import anyio
from fastapi import APIRouter, Query, Response, status
from fastapi.responses import FileResponse, StreamingResponse
from sqlalchemy.orm import Session

from vesalius.accounts.deps import CurrentUser, ViewerUser
from vesalius.accounts.models import User
from vesalius.accounts.sessions import Client
from vesalius.analytics.schemas import ViewClosedIn, ViewOpenedOut
from vesalius.common.errors import BadRequest, Conflict
from vesalius.common.schemas import model_response
from vesalius.context import AppContext
from vesalius.deps import ClientDep, ContextDep, ReadSessionDep, SessionDep
from vesalius.imaging.models import THUMBNAIL_SIZES, FileType, Image, ImageStatus, thumbnail_key
from vesalius.imaging.previews import preview_png
from vesalius.imaging.schemas import GalleryCursorOut, GalleryPageOut, ImageDetailOut, image_out
from vesalius.imaging.service import GalleryFilter, ImageService
from vesalius.jobs.schemas import JobOut

router = APIRouter(prefix="/api/images", tags=["images"])
VIEW_DEDUPE_SECONDS = 1800


def _parse_when(raw: str | None, name: str, *, end_of_day: bool) -> datetime | None:
    if raw is None or raw == "":
        return None
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            return datetime.combine(day, time.max if end_of_day else time.min, tzinfo=UTC)
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(
            f"{name} must be a date (YYYY-MM-DD) or an ISO-8601 time",
            code="invalid_date",
            details={name: raw},
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _parse_study_date(raw: str | None, name: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(
            f"{name} must be a date (YYYY-MM-DD)", code="invalid_date", details={name: raw}
        ) from None


@router.get("", response_model=GalleryPageOut | GalleryCursorOut)
def list_images(
    user: CurrentUser,
    ctx: ContextDep,
    session: ReadSessionDep,
    limit: int = 20,
    page: int = 1,
    use_cursor: Annotated[bool, Query(alias="useCursor")] = False,
    cursor: str | None = None,
    direction: str = "next",
    file_type: Annotated[FileType | None, Query(alias="fileType")] = None,
    modality: Annotated[str | None, Query(max_length=16)] = None,
    status_: Annotated[ImageStatus | None, Query(alias="status")] = None,
    created_from: Annotated[str | None, Query(alias="from")] = None,
    created_to: Annotated[str | None, Query(alias="to")] = None,
    study_from: Annotated[str | None, Query(alias="studyFrom")] = None,
    study_to: Annotated[str | None, Query(alias="studyTo")] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The gallery, newest first. Offset mode: ``page`` + ``limit`` → ``total``. Cursor mode
    (``useCursor=true``): ``cursor`` + ``direction=next|prev`` → ``nextCursor``/``prevCursor``,
    steady however deep you page and while new images arrive."""
    filters = GalleryFilter(
        file_type=file_type,
        modality=modality,
        status=status_,
        created_from=_parse_when(created_from, "from", end_of_day=False),
        created_to=_parse_when(created_to, "to", end_of_day=True),
        study_from=_parse_study_date(study_from, "studyFrom"),
        study_to=_parse_study_date(study_to, "studyTo"),
        q=q,
    )
    service = ImageService(ctx, session)
    if use_cursor:
        found = service.list_cursor(user, filters, cursor=cursor, direction=direction, limit=limit)
        return model_response(
            GalleryCursorOut(
                images=[image_out(i) for i in found.images],
                next_cursor=found.next_cursor,
                prev_cursor=found.prev_cursor,
                has_more=found.has_more,
                limit=found.limit,
            )
        )
    offset = service.list_offset(user, filters, page=page, limit=limit)
    return model_response(
        GalleryPageOut(
            images=[image_out(i) for i in offset.images],
            total=offset.total,
            page=offset.page,
            limit=offset.limit,
        )
    )


@router.get("/{image_id}", response_model=ImageDetailOut)
def get_image(
    image_id: int, user: CurrentUser, ctx: ContextDep, session: ReadSessionDep
) -> ImageDetailOut:
    """Metadata, DICOM summary, status and the progress of its jobs."""
    detail = ImageService(ctx, session).detail_for(user, image_id)
    return ImageDetailOut(
        **image_out(detail.image).model_dump(), jobs=[JobOut.model_validate(j) for j in detail.jobs]
    )


@router.delete("/{image_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_image(
    image_id: int, user: CurrentUser, ctx: ContextDep, session: SessionDep, client: ClientDep
) -> None:
    """Delete the image, its derived files and its pending jobs."""
    ImageService(ctx, session).delete(user, image_id, client)


@router.post("/{image_id}/views", response_model=ViewOpenedOut, status_code=status.HTTP_201_CREATED)
def open_view(
    image_id: int, user: CurrentUser, ctx: ContextDep, session: ReadSessionDep, client: ClientDep
) -> ViewOpenedOut:
    """A viewer opened the image: counts one view. Report how long it stayed open with
    ``PATCH …/views/{view_id}`` when it closes."""
    return ViewOpenedOut(view_id=ImageService(ctx, session).open_view(user, image_id, client))


@router.patch("/{image_id}/views/{view_id}", status_code=status.HTTP_204_NO_CONTENT)
def close_view(
    image_id: int,
    view_id: str,
    body: ViewClosedIn,
    user: CurrentUser,
    ctx: ContextDep,
    session: ReadSessionDep,
) -> None:
    """The view closed after ``durationMs`` milliseconds."""
    ImageService(ctx, session).close_view(user, image_id, view_id, body.duration_ms)


def _load(
    ctx: AppContext, session: Session, user: User, image_id: int, *, view: Client | None = None
) -> Image:
    """The image if ``user`` may see it; with ``view``, also counts a view (one per user and
    image per half hour, however many previews a viewer fetches)."""
    service = ImageService(ctx, session)
    image = service.get_for(user, image_id)
    if view is not None:
        service.note_view(user, image, view, dedupe_seconds=VIEW_DEDUPE_SECONDS)
    return image


def _blob_response(ctx: AppContext, key: str, media_type: str, headers: dict[str, str]) -> Response:
    path = ctx.blobs.local_path(key)
    if path is not None:
        return FileResponse(path, media_type=media_type, headers=headers)
    handle = ctx.blobs.open(key)

    def chunks() -> Iterator[bytes]:
        with handle:
            while data := handle.read(1024 * 1024):
                yield data

    return StreamingResponse(chunks(), media_type=media_type, headers=headers)


def _attachment(name: str) -> str:
    fallback = name.encode("ascii", "replace").decode().replace('"', "'")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"


@router.get("/{image_id}/file", response_class=Response)
def image_file(
    image_id: int, user: ViewerUser, ctx: ContextDep, session: ReadSessionDep, client: ClientDep
) -> Response:
    """The original file as uploaded (counts as a view)."""
    image = _load(ctx, session, user, image_id, view=client)
    return _blob_response(
        ctx, image.storage_key, image.content_type, {"Cache-Control": "private, max-age=3600"}
    )


@router.get("/{image_id}/download", response_class=Response)
def image_download(
    image_id: int, user: ViewerUser, ctx: ContextDep, session: ReadSessionDep, client: ClientDep
) -> Response:
    """The original file as an attachment under its original name."""
    service = ImageService(ctx, session)
    image = service.get_for(user, image_id)
    service.record_download(user, image, client)
    headers = {
        "Content-Disposition": _attachment(image.original_name),
        "Cache-Control": "private, no-store",
    }
    return _blob_response(ctx, image.storage_key, image.content_type, headers)


@router.get("/{image_id}/preview", response_class=Response)
async def image_preview(
    image_id: int,
    user: ViewerUser,
    ctx: ContextDep,
    session: ReadSessionDep,
    client: ClientDep,
    window_center: Annotated[float | None, Query(alias="windowCenter")] = None,
    window_width: Annotated[float | None, Query(alias="windowWidth")] = None,
    frame: int = 0,
    size: int | None = None,
) -> Response:
    """An 8-bit PNG. DICOM: the file's own window unless ``windowCenter``/``windowWidth`` are
    given; ``frame`` for multi-frame images; ``size`` bounds the longer side. Rendered on
    demand and cached. Counts as a view (once per half hour per user and image)."""
    if (window_center is None) != (window_width is None):
        raise BadRequest(
            "give both windowCenter and windowWidth, or neither", code="invalid_window"
        )
    window = (
        (window_center, window_width)
        if window_center is not None and window_width is not None
        else None
    )
    image = await anyio.to_thread.run_sync(lambda: _load(ctx, session, user, image_id, view=client))
    png = await anyio.to_thread.run_sync(
        lambda: preview_png(ctx, image, frame=frame, size=size, window=window)
    )
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


@router.get("/{image_id}/thumbnail", response_class=Response)
def image_thumbnail(
    image_id: int, user: ViewerUser, ctx: ContextDep, session: ReadSessionDep, size: int = 256
) -> Response:
    """A JPEG thumbnail, ``size`` 256 or 512 (longer side). 409 ``not_ready`` while processing."""
    if size not in THUMBNAIL_SIZES:
        raise BadRequest(f"size must be one of {list(THUMBNAIL_SIZES)}", code="invalid_size")
    image = _load(ctx, session, user, image_id)
    if image.status != ImageStatus.ready:
        raise Conflict(
            f"the thumbnail is not ready (image status: {image.status.value})",
            code="not_ready",
            details={"status": image.status.value, "reason": image.failure_reason},
        )
    headers = {"Cache-Control": "private, max-age=86400", "ETag": f'"{image.sha256[:16]}-{size}"'}
    return _blob_response(ctx, thumbnail_key(image.id, size), "image/jpeg", headers)
