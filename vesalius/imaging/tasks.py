"""Background conversion: DICOM → preview PNG (``dicom`` queue), then thumbnails (``thumbnails``
queue). Both are idempotent: running one twice rewrites the same files. ``domain.py`` registers
them as job types."""

import io
from typing import Any

import numpy as np
from PIL import Image as PILImage
from sqlalchemy import select, update
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
from vesalius.imaging.render import RenderError, encode_png, make_thumbnail, render_dicom
from vesalius.imaging.service import ImageService
from vesalius.jobs.models import FINISHED, Job
from vesalius.jobs.runner import PermanentJobError, RunningJob
from vesalius.storage import BlobNotFound


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


def _load(ctx: AppContext, job: RunningJob) -> Image | None:
    with ctx.db.read_session() as session:
        return ImageService(ctx, session).get(int(job.input["imageId"]))


def convert_dicom(ctx: AppContext, job: RunningJob) -> dict[str, Any] | None:
    image = _load(ctx, job)
    if image is None:
        return {"skipped": "image was deleted"}
    job.progress(5, "reading DICOM")
    try:
        with ctx.blobs.open(image.storage_key) as source:
            rendered = render_dicom(
                source,
                max_pixels=ctx.settings.max_image_pixels,
                progress=lambda pct: job.progress(5 + pct * 80 // 100, "decoding"),
            )
    except BlobNotFound:
        raise PermanentJobError("the original file is missing from storage") from None
    except RenderError as error:
        raise PermanentJobError(f"cannot convert: {error}") from None
    job.progress(85, "writing preview")
    ctx.blobs.put(preview_key(image.id), encode_png(rendered.pixels), "image/png")
    with ctx.db.session() as session:
        ImageService(ctx, session).update_fields(
            image.id,
            width=rendered.width,
            height=rendered.height,
            bit_depth=rendered.bit_depth,
            frames=rendered.frames,
        )
        _queue_thumbnails(ctx, session, image)
        session.commit()
    return {
        "preview": preview_key(image.id),
        "window": list(rendered.window) if rendered.window else None,
    }


def _queue_thumbnails(ctx: AppContext, session: Any, image: Image) -> None:
    """Once per image: a re-run of the conversion must not pile up thumbnail jobs."""
    from vesalius.jobs.service import JobService

    existing = session.scalar(
        select(Job.id).where(
            Job.resource_type == "image",
            Job.resource_id == image.id,
            Job.type == "make_thumbnails",
            Job.status.not_in([s for s in FINISHED if s != "completed"]),
        )
    )
    if existing is None:
        JobService(ctx, session).create(
            "make_thumbnails",
            input={"imageId": image.id},
            resource=("image", image.id),
            owner_id=image.user_id,
        )


def make_thumbnails(ctx: AppContext, job: RunningJob) -> dict[str, Any] | None:
    image = _load(ctx, job)
    if image is None:
        return {"skipped": "image was deleted"}
    job.progress(10, "loading")
    try:
        if image.file_type == FileType.dcm:
            with PILImage.open(io.BytesIO(ctx.blobs.read(preview_key(image.id)))) as preview:
                pixels = np.asarray(preview)
        else:
            with ctx.blobs.open(image.storage_key) as source:
                rendered = render_raster(source, max_pixels=ctx.settings.max_image_pixels)
            pixels = rendered.pixels
            ctx.blobs.put(preview_key(image.id), encode_png(pixels), "image/png")
            with ctx.db.session() as session:
                ImageService(ctx, session).update_fields(
                    image.id,
                    width=rendered.width,
                    height=rendered.height,
                    bit_depth=rendered.bit_depth,
                )
                session.commit()
    except BlobNotFound:
        raise PermanentJobError("a file this step needs is missing from storage") from None
    except RenderError as error:
        raise PermanentJobError(f"cannot read the image: {error}") from None
    for step, size in enumerate(THUMBNAIL_SIZES, start=1):
        job.progress(10 + 80 * step // len(THUMBNAIL_SIZES), f"thumbnail {size}px")
        ctx.blobs.put(thumbnail_key(image.id, size), make_thumbnail(pixels, size), "image/jpeg")
    with ctx.db.session() as session:
        ImageService(ctx, session).mark_ready(image.id)
        session.commit()
    return {"thumbnails": [thumbnail_key(image.id, s) for s in THUMBNAIL_SIZES]}
