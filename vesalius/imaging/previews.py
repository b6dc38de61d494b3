"""Previews rendered on demand (window/level, frame, size) and cached in the blob store."""

from vesalius.common.errors import BadRequest
from vesalius.context import AppContext
from vesalius.imaging.models import FileType, Image, ImageStatus, cache_prefix, preview_key
from vesalius.imaging.raster import render_raster
from vesalius.imaging.render import encode_png, render_dicom
from vesalius.storage import BlobNotFound

MIN_PREVIEW_SIZE = 16
MAX_PREVIEW_SIZE = 4096


def _cache_key(
    image_id: int, frame: int, size: int | None, window: tuple[float, float] | None
) -> str:
    center, width = window if window else ("auto", "auto")
    return f"{cache_prefix(image_id)}f{frame}-s{size or 0}-c{center}-w{width}.png"


def check_preview_request(
    image: Image, *, frame: int, size: int | None, window: tuple[float, float] | None
) -> None:
    if size is not None and not MIN_PREVIEW_SIZE <= size <= MAX_PREVIEW_SIZE:
        raise BadRequest(
            f"size must be between {MIN_PREVIEW_SIZE} and {MAX_PREVIEW_SIZE}", code="invalid_size"
        )
    # Frames are DICOM frames; other images show their first page only.
    frames = max(1, image.frames) if image.file_type == FileType.dcm else 1
    if not 0 <= frame < frames:
        raise BadRequest(f"frame must be between 0 and {frames - 1}", code="invalid_frame")
    if window is not None:
        if image.file_type != FileType.dcm:
            raise BadRequest(
                "window/level applies to DICOM images only", code="window_not_applicable"
            )
        if window[1] <= 0:
            raise BadRequest("windowWidth must be positive", code="invalid_window")


def preview_png(
    ctx: AppContext,
    image: Image,
    *,
    frame: int = 0,
    size: int | None = None,
    window: tuple[float, float] | None = None,
) -> bytes:
    check_preview_request(image, frame=frame, size=size, window=window)
    if window is not None:
        # Round so that dragging a slider does not mint a new cache entry per pixel moved.
        window = (round(window[0], 1), round(window[1], 1))
    if frame == 0 and size is None and window is None and image.status == ImageStatus.ready:
        try:
            return ctx.blobs.read(preview_key(image.id))
        except BlobNotFound:
            pass  # rendered below
    key = _cache_key(image.id, frame, size, window)
    try:
        return ctx.blobs.read(key)
    except BlobNotFound:
        pass
    with ctx.blobs.open(image.storage_key) as source:
        if image.file_type == FileType.dcm:
            rendered = render_dicom(
                source,
                frame=frame,
                window=window,
                max_size=size,
                max_pixels=ctx.settings.max_image_pixels,
            )
        else:
            rendered = render_raster(
                source, max_pixels=ctx.settings.max_image_pixels, max_size=size
            )
    png = encode_png(rendered.pixels)
    ctx.blobs.put(key, png, "image/png")
    return png
