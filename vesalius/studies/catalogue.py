"""The studies domain's side of imaging's catalogue extension point (``imaging/catalogue.py``):
what imaging calls when DICOM images are recorded, replaced, deleted or opened."""

import logging

from pydicom.dataset import Dataset
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from vesalius.accounts.models import User
from vesalius.context import AppContext
from vesalius.imaging.catalogue import Sender
from vesalius.imaging.dicom_io import InvalidDicom, open_dicom
from vesalius.imaging.models import Image
from vesalius.studies.access import Access
from vesalius.studies.indexing import catalogue_instance, forget_image, note_sender
from vesalius.studies.models import Instance, Series, StudySender

log = logging.getLogger(__name__)


class StudyCatalogue:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def stored_image_id(
        self, session: Session, sop_instance_uid: str, sender: Sender
    ) -> int | None:
        # Per owner: a second user's copy is kept as their own image (outside the study,
        # whose instance keeps the first image), so it stays in their gallery; they are
        # noted as a sender of the study when it is recorded.
        return session.scalar(
            select(func.min(Image.id)).where(
                Image.sop_instance_uid == sop_instance_uid, Image.user_id == sender.owner_id
            )
        )

    def note_sent(self, session: Session, image_id: int, sender: Sender) -> None:
        study_pk = _study_of(session, image_id)
        if study_pk is not None:
            note_sender(session, study_pk, sender)

    def record(
        self,
        session: Session,
        images: list[Image],
        sender: Sender,
        headers: list[Dataset | None] | None = None,
    ) -> None:
        for image, header in zip(images, headers or [None] * len(images), strict=True):
            if header is not None:
                catalogue_instance(session, image.id, header, sender)
                continue
            try:
                with self.ctx.blobs.open(image.storage_key) as handle, open_dicom(handle) as opened:
                    catalogue_instance(session, image.id, opened.dataset, sender)
            except InvalidDicom:
                # The upload checks already accepted it; a header that will not parse twice
                # leaves the image outside any study rather than refusing it now.
                log.warning("image %s: header unreadable, not catalogued", image.id)

    def forget(self, session: Session, image_id: int) -> None:
        forget_image(session, image_id)

    def may_see(self, session: Session, actor: User, image: Image) -> bool:
        study_pk = _study_of(session, image.id)
        if study_pk is None:
            return False
        access = Access.of(actor)
        if access.sees_all:
            return True
        return bool(
            session.scalar(
                select(
                    exists().where(
                        StudySender.study_pk == study_pk, StudySender.user_id == access.user_id
                    )
                )
            )
        )


def _study_of(session: Session, image_id: int) -> int | None:
    return session.scalar(
        select(Series.study_pk)
        .join(Instance, Instance.series_pk == Series.id)
        .where(Instance.image_id == image_id)
    )
