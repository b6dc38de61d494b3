"""Background conversion: one job per image (``convert_dicom`` on the ``dicom`` queue,
``convert_image`` on ``thumbnails``) decodes the stored file once and, from those pixels,
writes the preview and both thumbnails; one transaction then records the image's
dimensions, marks it ready and completes the job. Running a job twice rewrites the same
files. ``domain.py`` registers them as job types."""

from typing import Any, Final

import numpy as np
import numpy.typing as npt
from sqlalchemy import update
from sqlalchemy.orm import Session

from vesalius.context import AppContext
from vesalius.imaging.models import (
    THUMBNAIL_SIZES,
    FileType,
    Image,
    ImageStatus,
    preview_key,
    thumbnail_key,
)
from vesalius.imaging.raster import render_raster
from vesalius.imaging.render import (
    Rendered,
    RenderError,
    encode_png,
    make_thumbnail,
    render_dicom,
)
from vesalius.imaging.render_output import downsample
from vesalius.imaging.service import ImageService
from vesalius.jobs.runner import PermanentJobError, RunningJob
from vesalius.storage import BlobNotFound

# The stored preview: big enough for a viewer pane on a large screen; larger views and
# other windows are rendered on demand from the original (``previews.py``).
PREVIEW_SIZE: Final = 1536
# Below this many pixels a conversion takes milliseconds: reporting progress would cost
# more than the work.
PROGRESS_FROM_PIXELS: Final = 2_000_000


def mark_failed(ctx: AppContext, job_input: dict[str, Any], error: str) -> None:
    with ctx.db.session() as session:
        ImageService(ctx, session).mark_failed(int(job_input["imageId"]), error)
        session.commit()


def mark_processing(session: Session, job_input: dict[str, Any]) -> None:
    session.execute(
        update(Image)
        .where(Image.id == int(job_input["imageId"]))
        .values(status=ImageStatus.processing, failure_reason=None)
    )


def convert_dicom(ctx: AppContext, job: RunningJob) -> dict[str, Any] | None:
    return _convert(ctx, job)


def convert_image(ctx: AppContext, job: RunningJob) -> dict[str, Any] | None:
    return _convert(ctx, job)


def _convert(ctx: AppContext, job: RunningJob) -> dict[str, Any] | None:
    with ctx.db.read_session() as session:
        image = ImageService(ctx, session).get(int(job.input["imageId"]))
    if image is None:
        return {"skipped": "image was deleted"}
    try:
        rendered = _render(ctx, job, image)
    except BlobNotFound:
        raise PermanentJobError("the original file is missing from storage") from None
    except RenderError as error:
        raise PermanentJobError(f"cannot convert: {error}") from None
    job.check()
    for key, data, content_type in derived_files(image.id, rendered.pixels):
        ctx.blobs.put(key, data, content_type, durable=False)  # made again from the original
    result = {
        "preview": preview_key(image.id),
        "thumbnails": [thumbnail_key(image.id, s) for s in THUMBNAIL_SIZES],
        "window": list(rendered.window) if rendered.window else None,
    }
    with ctx.db.session() as session:
        ImageService(ctx, session).record_conversion(
            image.id,
            width=rendered.width,
            height=rendered.height,
            bit_depth=rendered.bit_depth,
            frames=rendered.frames,
        )
        job.finish_in(session, result)
        session.commit()
    return result


def _render(ctx: AppContext, job: RunningJob, image: Image) -> Rendered:
    max_pixels = ctx.settings.max_image_pixels
    large = (image.width or 0) * (image.height or 0) >= PROGRESS_FROM_PIXELS
    with ctx.blobs.open(image.storage_key) as source:
        if image.file_type == FileType.dcm:
            return render_dicom(
                source,
                max_pixels=max_pixels,
                max_size=PREVIEW_SIZE,
                progress=(lambda pct: job.progress(pct * 90 // 100, "decoding")) if large else None,
            )
        return render_raster(source, max_pixels=max_pixels, max_size=PREVIEW_SIZE)


def derived_files(image_id: int, pixels: npt.NDArray[np.uint8]) -> list[tuple[str, bytes, str]]:
    """Preview PNG and JPEG thumbnails from one set of display pixels: each thumbnail is
    reduced from the next larger image, not from the full frame again."""
    files = [(preview_key(image_id), encode_png(pixels), "image/png")]
    source = pixels
    for size in sorted(THUMBNAIL_SIZES, reverse=True):
        source = downsample(source, size)
        files.append((thumbnail_key(image_id, size), make_thumbnail(source, size), "image/jpeg"))
    return files
