"""The REST API's shapes of studies, series and instances (camelCase on the wire)."""

import datetime as dt
from typing import Any

from vesalius.common.schemas import ApiModel


class StudyOut(ApiModel):
    study_instance_uid: str
    patient_name: str | None
    patient_id: str
    patient_birth_date: dt.date | None
    patient_sex: str | None
    study_date: dt.date | None
    study_time: str | None
    accession_number: str | None
    study_id: str | None
    study_description: str | None
    referring_physician_name: str | None
    modalities: list[str]
    number_of_series: int
    number_of_instances: int


class SeriesOut(ApiModel):
    series_instance_uid: str
    series_number: int | None
    modality: str | None
    series_description: str | None
    series_date: dt.date | None
    body_part_examined: str | None
    laterality: str | None
    view_position: str | None
    number_of_instances: int
    # The image shown for the series (its first instance): /api/images/{id}/thumbnail.
    thumbnail_image_id: int | None = None


class InstanceUrls(ApiModel):
    image: str
    thumbnail: str
    preview: str
    file: str


class InstanceOut(ApiModel):
    sop_instance_uid: str
    sop_class_uid: str | None
    instance_number: int | None
    transfer_syntax_uid: str | None
    image_id: int
    urls: InstanceUrls


class StudyPageOut(ApiModel):
    studies: list[StudyOut]
    total: int  # at most 1,000: see total_capped
    total_capped: bool
    limit: int
    offset: int
    has_more: bool
    next_cursor: str | None


class StudyDetailOut(StudyOut):
    series: list[SeriesOut]


class SeriesDetailOut(SeriesOut):
    study_instance_uid: str
    instances: list[InstanceOut]


def study_out(row: dict[str, Any]) -> StudyOut:
    return StudyOut(
        study_instance_uid=row["StudyInstanceUID"],
        patient_name=row["PatientName"],
        patient_id=row["PatientID"],
        patient_birth_date=row["PatientBirthDate"],
        patient_sex=row["PatientSex"],
        study_date=row["StudyDate"],
        study_time=row["StudyTime"],
        accession_number=row["AccessionNumber"],
        study_id=row["StudyID"],
        study_description=row["StudyDescription"],
        referring_physician_name=row["ReferringPhysicianName"],
        modalities=[m for m in (row["ModalitiesInStudy"] or "").split("\\") if m],
        number_of_series=row["NumberOfStudyRelatedSeries"],
        number_of_instances=row["NumberOfStudyRelatedInstances"],
    )


def series_out(row: dict[str, Any], thumbnail_image_id: int | None = None) -> SeriesOut:
    return SeriesOut(
        series_instance_uid=row["SeriesInstanceUID"],
        series_number=row["SeriesNumber"],
        modality=row["Modality"],
        series_description=row["SeriesDescription"],
        series_date=row["SeriesDate"],
        body_part_examined=row["BodyPartExamined"],
        laterality=row["Laterality"],
        view_position=row["ViewPosition"],
        number_of_instances=row["NumberOfSeriesRelatedInstances"],
        thumbnail_image_id=thumbnail_image_id,
    )


def instance_out(row: dict[str, Any]) -> InstanceOut:
    base = f"/api/images/{row['image_id']}"
    return InstanceOut(
        sop_instance_uid=row["SOPInstanceUID"],
        sop_class_uid=row["SOPClassUID"],
        instance_number=row["InstanceNumber"],
        transfer_syntax_uid=row["transfer_syntax_uid"],
        image_id=row["image_id"],
        urls=InstanceUrls(
            image=base,
            thumbnail=f"{base}/thumbnail",
            preview=f"{base}/preview",
            file=f"{base}/file",
        ),
    )
