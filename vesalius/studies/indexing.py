"""Cataloguing instances: patient, study, series and instance rows made or completed from a
data set's header, counts and modalities kept up to date, and who sent what.

Counts move by ``+1``/``-1`` updates, which take the row lock: two transactions adding to
one study at the same time both count (a read-then-write would lose one).
"""

import logging
from typing import Any

from pydicom.dataset import Dataset
from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.orm import Session

from vesalius.db import is_constraint_violation, utcnow
from vesalius.imaging.catalogue import Sender
from vesalius.studies.attributes import Level, read_level
from vesalius.studies.models import Instance, Patient, Series, Study, StudySender, Via

log = logging.getLogger(__name__)


def _fill(row: Any, values: dict[str, Any]) -> None:
    """Complete a row: a value we have wins over a missing one, never the other way round."""
    for name, value in values.items():
        if value is not None and value != "" and getattr(row, name) != value:
            setattr(row, name, value)


def _get_or_create(
    session: Session,
    model: type[Any],
    key: dict[str, Any],
    values: dict[str, Any],
    parent: str,
) -> tuple[Any, bool]:
    """The row with ``key``, completed with ``values``; made when missing. ``parent`` (the
    link to the level above) is set only when the row is made: an instance that says it
    belongs elsewhere does not move a series, nor a series a study."""
    stmt = select(model).filter_by(**key)
    completing = {k: v for k, v in values.items() if k != parent}
    found = session.scalars(stmt).first()
    if found is not None:
        _fill(found, completing)
        return found, False
    try:
        with session.begin_nested():  # another transaction may create it at the same moment
            row = model(**key, **{k: v for k, v in values.items() if k not in key})
            session.add(row)
    except Exception as error:
        if not is_constraint_violation(error):
            raise
        found = session.scalars(stmt).one()
        _fill(found, completing)
        return found, False
    return row, True


def merge_modalities(current: str, *more: str | None) -> str:
    values = {m for m in current.split("\\") if m} | {m for m in more if m}
    return "\\".join(sorted(values))


def catalogue_instance(
    session: Session, image_id: int, ds: Dataset, sender: Sender
) -> Instance | None:
    """Make ``image_id`` an instance of its series (creating what is missing above it).

    Returns None when the header lacks the study, series or SOP Instance UID (the image
    then stays outside any study, as an ordinary image does).
    """
    study_values = read_level(ds, Level.study)
    series_values = read_level(ds, Level.series)
    instance_values = read_level(ds, Level.instance)
    if not (
        study_values.get("study_instance_uid")
        and series_values.get("series_instance_uid")
        and instance_values.get("sop_instance_uid")
    ):
        return None
    patient_values = read_level(ds, Level.patient)
    patient, _ = _get_or_create(
        session,
        Patient,
        {"patient_id": patient_values.pop("patient_id"), "issuer": patient_values.pop("issuer")},
        patient_values,
        parent="",
    )
    study_uid = study_values.pop("study_instance_uid")
    study, _ = _get_or_create(
        session,
        Study,
        {"study_instance_uid": study_uid},
        {**study_values, "patient_pk": patient.id},
        parent="patient_pk",
    )
    series_uid = series_values.pop("series_instance_uid")
    series, series_is_new = _get_or_create(
        session,
        Series,
        {"series_instance_uid": series_uid},
        {**series_values, "study_pk": study.id},
        parent="study_pk",
    )
    sop_uid = instance_values.pop("sop_instance_uid")
    instance, instance_is_new = _get_or_create(
        session,
        Instance,
        {"sop_instance_uid": sop_uid},
        {
            **instance_values,
            "image_id": image_id,
            "series_pk": series.id,
            "transfer_syntax_uid": _syntax(ds),
        },
        parent="image_id",
    )
    if instance.image_id != image_id:
        # Another image holds this instance: sent twice at the same moment (both checked
        # before either was recorded), or a copy from before de-duplication. It stays an
        # image outside the study rather than taking the instance over.
        log.info("image %s: SOP Instance UID %s already catalogued", image_id, sop_uid)
        note_sender(session, study.id, sender)
        return None
    if instance_is_new:
        session.execute(
            update(Series)
            .where(Series.id == series.id)
            .values(number_of_instances=Series.number_of_instances + 1)
        )
        session.execute(
            update(Study)
            .where(Study.id == study.id)
            .values(
                number_of_instances=Study.number_of_instances + 1,
                number_of_series=Study.number_of_series + (1 if series_is_new else 0),
                updated_at=utcnow(),
            )
        )
        session.refresh(study, ["modalities_in_study"])
        merged = merge_modalities(study.modalities_in_study or "", series.modality)
        if merged != study.modalities_in_study:
            study.modalities_in_study = merged
        session.expire(series, ["number_of_instances"])
        session.expire(study, ["number_of_instances", "number_of_series"])
    note_sender(session, study.id, sender)
    made: Instance = instance
    return made


def _syntax(ds: Dataset) -> str | None:
    meta = getattr(ds, "file_meta", None)
    value = getattr(meta, "TransferSyntaxUID", None) if meta is not None else None
    return str(value) if value else None


def note_sender(session: Session, study_pk: int, sender: Sender) -> None:
    known = session.scalar(
        select(
            exists().where(StudySender.study_pk == study_pk, StudySender.user_id == sender.owner_id)
        )
    )
    if known:
        return
    try:
        with session.begin_nested():
            session.add(
                StudySender(
                    study_pk=study_pk,
                    user_id=sender.owner_id,
                    via=Via(sender.via),
                    calling_ae=sender.calling_ae,
                )
            )
    except Exception as error:
        if not is_constraint_violation(error):
            raise


def forget_image(session: Session, image_id: int) -> None:
    """The image goes: remove its instance, and its series, study and patient once empty."""
    instance = session.scalars(select(Instance).where(Instance.image_id == image_id)).first()
    if instance is None:
        return
    series = session.get(Series, instance.series_pk)
    session.delete(instance)
    session.flush()
    if series is None:
        return
    study_pk = series.study_pk
    session.execute(
        update(Series)
        .where(Series.id == series.id)
        .values(number_of_instances=Series.number_of_instances - 1)
    )
    session.refresh(series)
    series_gone = series.number_of_instances <= 0
    if series_gone:
        session.delete(series)
        session.flush()
    session.execute(
        update(Study)
        .where(Study.id == study_pk)
        .values(
            number_of_instances=Study.number_of_instances - 1,
            number_of_series=Study.number_of_series - (1 if series_gone else 0),
            updated_at=utcnow(),
        )
    )
    study = session.get(Study, study_pk)
    if study is None:
        return
    session.refresh(study)
    if study.number_of_instances <= 0:
        patient_pk = study.patient_pk
        session.execute(delete(StudySender).where(StudySender.study_pk == study_pk))
        session.delete(study)
        session.flush()
        if not session.scalar(select(exists().where(Study.patient_pk == patient_pk))):
            session.execute(delete(Patient).where(Patient.id == patient_pk))
        return
    if series_gone:
        remaining = session.scalars(
            select(Series.modality).where(Series.study_pk == study_pk).distinct()
        )
        study.modalities_in_study = merge_modalities("", *remaining)


def recount(session: Session) -> None:
    """Set every count and modality list from the rows themselves (after a bulk rebuild)."""
    series_counts = select(func.count()).where(Instance.series_pk == Series.id).scalar_subquery()
    session.execute(update(Series).values(number_of_instances=series_counts))
    session.execute(
        update(Study).values(
            number_of_series=select(func.count())
            .where(Series.study_pk == Study.id)
            .scalar_subquery(),
            number_of_instances=select(func.coalesce(func.sum(Series.number_of_instances), 0))
            .where(Series.study_pk == Study.id)
            .scalar_subquery(),
        )
    )
    modalities: dict[int, set[str]] = {}
    for study_pk, modality in session.execute(select(Series.study_pk, Series.modality).distinct()):
        if modality:
            modalities.setdefault(study_pk, set()).add(modality)
    for study_pk, values in modalities.items():
        session.execute(
            update(Study)
            .where(Study.id == study_pk)
            .values(modalities_in_study="\\".join(sorted(values)))
        )
