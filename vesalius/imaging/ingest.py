"""The one way images enter Vesalius. ``/api/upload`` calls it today; STOW-RS, C-STORE, tus
and the upload sessions call it too, so header checks, de-duplication, indexing and queued
conversion are written once.

A caller has already stored each file's bytes as a blob and checked its header while the
bytes streamed past (``uploads.receiver``); ``IngestService.ingest`` records every file of one
arrival in one transaction — its image row and its one conversion job — and the jobs are
sent to the workers only after that transaction commits.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from vesalius.accounts.models import User
from vesalius.accounts.permissions import ensure_active
from vesalius.accounts.sessions import Client
from vesalius.analytics.models import ActivityType
from vesalius.context import AppContext
from vesalius.db import after_commit
from vesalius.imaging.catalogue import Sender, catalogue_of
from vesalius.imaging.models import FileType, Image
from vesalius.imaging.service import ImageService, image_from_upload
from vesalius.jobs.models import Job
from vesalius.jobs.service import JobService

if TYPE_CHECKING:
    from vesalius.uploads.receiver import StagedFile

log = logging.getLogger(__name__)

CONVERSION_JOBS = {FileType.dcm: "convert_dicom"}
IMAGE_CONVERSION_JOB = "convert_image"


def conversion_job_type(file_type: FileType) -> str:
    """The one job that turns a stored file into preview, thumbnails and metadata."""
    return CONVERSION_JOBS.get(file_type, IMAGE_CONVERSION_JOB)


@dataclass
class Ingested:
    """What became of each file of one arrival, after the transaction recording it
    committed: a new image (with its one conversion job), an instance that was already
    stored (the existing image's id), or the ids of images it replaced."""

    created: list[tuple[Image, Job]] = field(default_factory=list)
    already_stored: list[tuple["StagedFile", int]] = field(default_factory=list)
    replaced: list[int] = field(default_factory=list)


class IngestService:
    def __init__(self, ctx: AppContext, session: Session) -> None:
        self.ctx = ctx
        self.session = session

    def ingest(
        self,
        owner: User,
        files: list["StagedFile"],
        *,
        client: Client | None = None,
        sender: Sender | None = None,
    ) -> Ingested:
        """Record ``files`` (already stored and header-checked) for ``owner`` in one
        transaction, committed here: an image row and one conversion job each, sent to the
        workers after the commit; the upload activity is recorded after it too.

        ``sender`` says who sent the files and how (``upload``, ``stow``, ``c-store``; the
        calling AE title); it defaults to an upload by ``owner``. A DICOM instance whose SOP
        Instance UID is already stored is not stored twice (its new blob is removed and the
        sender noted as having sent it), unless ``VESALIUS_DICOM_OVERWRITE`` is on: then the
        old image and its files are replaced.
        """
        ensure_active(owner)
        sender = sender or Sender(owner.id)
        catalogue = catalogue_of(self.ctx)
        images = ImageService(self.ctx, self.session)
        jobs = JobService(self.ctx, self.session)
        result = Ingested()
        for item in files:
            uid = item.dicom.sop_instance_uid if item.dicom is not None else None
            stored_id = catalogue.stored_image_id(self.session, uid, sender) if uid else None
            if stored_id is not None and not self.ctx.settings.dicom_overwrite:
                catalogue.note_sent(self.session, stored_id, sender)
                result.already_stored.append((item, stored_id))
                after_commit(self.session, _delete_blob(self.ctx, item.key))
                continue
            if stored_id is not None:
                catalogue.forget(self.session, stored_id)
                images.remove(stored_id)
                result.replaced.append(stored_id)
            image = image_from_upload(owner.id, item)
            self.session.add(image)
            self.session.flush()
            if image.file_type == FileType.dcm:
                header = item.dicom.header if item.dicom is not None else None
                catalogue.record(self.session, [image], sender, headers=[header])
            job = jobs.create(
                conversion_job_type(image.file_type),
                input={"imageId": image.id},
                resource=("image", image.id),
                owner_id=owner.id,
            )
            result.created.append((image, job))
        self.session.commit()
        for image, _ in result.created:
            self._record_activity(owner, image, client, sender)
        return result

    def _record_activity(
        self, owner: User, image: Image, client: Client | None, sender: Sender
    ) -> None:
        details: dict[str, object] = {
            "fileType": image.file_type.value,
            "sizeBytes": image.size_bytes,
            "name": image.original_name,
        }
        if sender.via != "upload":
            details["via"] = sender.via
        self.ctx.activity.record(
            owner.id,
            ActivityType.upload,
            resource=("image", image.id),
            details=details,
            ip=client.ip if client else None,
            user_agent=client.user_agent if client else None,
        )


def _delete_blob(ctx: AppContext, key: str) -> Callable[[], None]:
    def delete() -> None:
        try:
            ctx.blobs.delete(key)
        except Exception:
            log.exception("blob %s could not be removed", key)

    return delete
