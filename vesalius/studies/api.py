"""``/api/studies``: the study list with search and paging, one study with its series, one
series with its instances. Thin: parse, call ``StudyService``, shape the answer."""

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Response

from vesalius.accounts.deps import CurrentUser
from vesalius.common.errors import BadRequest
from vesalius.common.schemas import model_response
from vesalius.deps import ContextDep, ReadSessionDep
from vesalius.studies import schemas
from vesalius.studies.filters import StudyFilter, study_query
from vesalius.studies.service import StudyService

router = APIRouter(prefix="/api/studies", tags=["studies"])
# Counting stops here: an exact count of 100,000 studies costs more than the page itself,
# and "1,000+" says enough to a person.
TOTAL_CAP = 1000


def _day(raw: str | None, name: str) -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(
            f"{name} must be a date (YYYY-MM-DD or YYYYMMDD)",
            code="invalid_date",
            details={name: raw},
        ) from None


@router.get("", response_model=schemas.StudyPageOut)
def list_studies(
    user: CurrentUser,
    ctx: ContextDep,
    session: ReadSessionDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    patient_name: Annotated[str | None, Query(alias="patientName", max_length=200)] = None,
    patient_id: Annotated[str | None, Query(alias="patientId", max_length=64)] = None,
    accession: Annotated[str | None, Query(max_length=64)] = None,
    modality: Annotated[str | None, Query(max_length=16)] = None,
    date_from: Annotated[str | None, Query(alias="from")] = None,
    date_to: Annotated[str | None, Query(alias="to")] = None,
    sort: str = "newest",
    limit: int = 20,
    offset: int = 0,
    cursor: str | None = None,
) -> Response:
    """Studies the caller may see. ``q`` matches part of the patient's name or ID;
    ``patientName``/``patientId``/``accession`` match case-insensitively, with ``*`` and
    ``?`` wildcards (plain text: contains); ``modality`` is one in the study; ``from``/``to``
    bound the study date (YYYY-MM-DD). ``sort``: ``newest`` (received; ``cursor`` paging
    with ``nextCursor``), ``date`` or ``patient`` (``offset`` paging). ``total`` counts
    matches up to 1,000 (``totalCapped`` says there are more)."""
    filters = StudyFilter(
        patient_text=q,
        patient_name=patient_name,
        patient_id=patient_id,
        accession=accession,
        modality=modality,
        date_from=_day(date_from, "from"),
        date_to=_day(date_to, "to"),
    )
    query = study_query(filters, sort=sort, limit=limit, offset=offset, cursor=cursor)
    service = StudyService(ctx, session)
    page = service.search(user, query)
    total = service.count(user, query, cap=TOTAL_CAP + 1)
    return model_response(
        schemas.StudyPageOut(
            studies=[schemas.study_out(row) for row in page.rows],
            total=min(total, TOTAL_CAP),
            total_capped=total > TOTAL_CAP,
            limit=page.limit,
            offset=page.offset,
            has_more=page.has_more,
            next_cursor=str(page.next_after_id) if page.next_after_id is not None else None,
        )
    )


@router.get("/{study_uid}", response_model=schemas.StudyDetailOut)
def get_study(
    study_uid: str, user: CurrentUser, ctx: ContextDep, session: ReadSessionDep
) -> Response:
    """One study and its series (each with the image id of its thumbnail)."""
    detail = StudyService(ctx, session).study(user, study_uid)
    study = schemas.study_out(detail.study)
    return model_response(
        schemas.StudyDetailOut(
            **study.model_dump(),
            series=[
                schemas.series_out(row, detail.thumbnails.get(row["series_pk"]))
                for row in detail.series
            ],
        )
    )


@router.get("/{study_uid}/series/{series_uid}", response_model=schemas.SeriesDetailOut)
def get_series(
    study_uid: str, series_uid: str, user: CurrentUser, ctx: ContextDep, session: ReadSessionDep
) -> Response:
    """One series and its instances, in instance-number order, each linking to its image."""
    detail = StudyService(ctx, session).series(user, study_uid, series_uid)
    instances = [schemas.instance_out(row) for row in detail.instances]
    series = schemas.series_out(detail.series, instances[0].image_id if instances else None)
    return model_response(
        schemas.SeriesDetailOut(
            **series.model_dump(),
            study_instance_uid=detail.series["StudyInstanceUID"],
            instances=instances,
        )
    )
