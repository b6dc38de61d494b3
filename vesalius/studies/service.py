"""Studies: searching and reading the hierarchy for the REST API, the web UI and (later)
DICOMweb and DIMSE, always through the one access rule; and rebuilding it from the stored
files (``vesalius studies reindex``)."""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vesalius.accounts.models import User
from vesalius.common.errors import NotFound
from vesalius.context import AppContext
from vesalius.imaging.catalogue import Sender
from vesalius.imaging.dicom_io import InvalidDicom, open_dicom
from vesalius.imaging.models import FileType, Image
from vesalius.storage.base import BlobNotFound
from vesalius.studies.access import Access
from vesalius.studies.attributes import Level
from vesalius.studies.indexing import catalogue_instance, recount
from vesalius.studies.models import Instance
from vesalius.studies.queries import MAX_LIMIT, Query, QueryPage, StudyQueries

log = logging.getLogger(__name__)


@dataclass
class StudyDetail:
    study: dict[str, Any]
    series: list[dict[str, Any]]
    # The image shown for each series (its first instance), by series primary key.
    thumbnails: dict[int, int] = field(default_factory=dict)


@dataclass
class SeriesDetail:
    series: dict[str, Any]
    instances: list[dict[str, Any]]


@dataclass
class ReindexReport:
    images: int = 0
    catalogued: int = 0
    unreadable: int = 0


class StudyService:
    def __init__(self, ctx: AppContext, session: Session) -> None:
        self.ctx = ctx
        self.session = session
        self.queries = StudyQueries(session)

    # -- searching ----------------------------------------------------------------------------
    def search(self, actor: User | Access, query: Query) -> QueryPage:
        """Rows of ``query.level`` the actor may see (QIDO-RS, C-FIND, the REST API)."""
        return self.queries.search(_access(actor), query)

    def count(self, actor: User | Access, query: Query, *, cap: int | None = None) -> int:
        """Rows ``query`` matches (at most ``cap``: counting stops there)."""
        return self.queries.count(_access(actor), query, cap=cap)

    # -- one study, one series ------------------------------------------------------------------
    def study(self, actor: User | Access, study_uid: str) -> StudyDetail:
        access = _access(actor)
        found = self.queries.search(access, Query(Level.study, study_uid=study_uid, limit=1))
        if not found.rows:
            raise NotFound("no such study", code="study_not_found", details={"uid": study_uid})
        series = self._all(access, Query(Level.series, study_uid=study_uid))
        thumbnails = self._first_images([s["series_pk"] for s in series])
        return StudyDetail(found.rows[0], series, thumbnails)

    def series(self, actor: User | Access, study_uid: str, series_uid: str) -> SeriesDetail:
        access = _access(actor)
        found = self.queries.search(
            access, Query(Level.series, study_uid=study_uid, series_uid=series_uid, limit=1)
        )
        if not found.rows:
            raise NotFound("no such series", code="series_not_found", details={"uid": series_uid})
        instances = self._all(
            access, Query(Level.instance, study_uid=study_uid, series_uid=series_uid)
        )
        return SeriesDetail(found.rows[0], instances)

    def _all(self, access: Access, query: Query) -> list[dict[str, Any]]:
        """Every row of ``query``, a page of ``MAX_LIMIT`` at a time (a CT series can hold
        thousands of instances)."""
        rows: list[dict[str, Any]] = []
        while True:
            page = self.queries.search(access, replace(query, limit=MAX_LIMIT, offset=len(rows)))
            rows += page.rows
            if not page.has_more:
                return rows

    def _first_images(self, series_pks: list[int]) -> dict[int, int]:
        if not series_pks:
            return {}
        ranked = (
            select(
                Instance.series_pk,
                Instance.image_id,
                func.row_number()
                .over(
                    partition_by=Instance.series_pk,
                    order_by=(
                        Instance.instance_number.is_(None),
                        Instance.instance_number,
                        Instance.id,
                    ),
                )
                .label("rank"),
            )
            .where(Instance.series_pk.in_(series_pks))
            .subquery()
        )
        rows = self.session.execute(
            select(ranked.c.series_pk, ranked.c.image_id).where(ranked.c.rank == 1)
        )
        return {int(series_pk): int(image_id) for series_pk, image_id in rows}

    # -- rebuilding ---------------------------------------------------------------------------
    def reindex(
        self, progress: Callable[[int, int], None] | None = None, batch: int = 200
    ) -> ReindexReport:
        """Read every stored DICOM image's header again and complete the hierarchy: what
        the upgrade built from the image table, plus what only the headers hold. Safe to
        run again; each batch commits on its own, so it can be stopped and resumed."""
        report = ReindexReport()
        total = (
            self.session.scalar(
                select(func.count()).select_from(Image).where(Image.file_type == FileType.dcm)
            )
            or 0
        )
        last_id = 0
        while True:
            images = list(
                self.session.scalars(
                    select(Image)
                    .where(Image.file_type == FileType.dcm, Image.id > last_id)
                    .order_by(Image.id)
                    .limit(batch)
                )
            )
            if not images:
                break
            for image in images:
                report.images += 1
                if self._reindex_one(image):
                    report.catalogued += 1
                else:
                    report.unreadable += 1
            last_id = images[-1].id
            self.session.commit()
            if progress is not None:
                progress(report.images, total)
        recount(self.session)
        self.session.commit()
        return report

    def _reindex_one(self, image: Image) -> bool:
        stored = self.session.scalar(
            select(Instance.image_id).where(Instance.sop_instance_uid == image.sop_instance_uid)
        )
        if stored is not None and stored != image.id:
            return True  # a second copy from before de-duplication: the instance is elsewhere
        try:
            with self.ctx.blobs.open(image.storage_key) as handle, open_dicom(handle) as opened:
                made = catalogue_instance(
                    self.session, image.id, opened.dataset, Sender(image.user_id)
                )
        except (InvalidDicom, BlobNotFound, OSError) as error:
            log.warning("image %s: not catalogued (%s)", image.id, error)
            return False
        return made is not None


def _access(actor: User | Access) -> Access:
    return actor if isinstance(actor, Access) else Access.of(actor)
