"""A small multi-series study, built with the DICOM factory: two series (CT and a secondary
PT), with the attributes people search by, plus helpers to upload it."""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from pydicom.uid import generate_uid

from tests.imaging.dicom_factory import dicom_bytes


@dataclass
class StudyFiles:
    study_uid: str = field(default_factory=generate_uid)
    series_uids: tuple[str, str] = field(default_factory=lambda: (generate_uid(), generate_uid()))
    files: list[tuple[str, bytes]] = field(default_factory=list)
    sop_uids: list[str] = field(default_factory=list)


def make_study(
    *,
    patient_id: str = "PAT-001",
    patient_name: str = "Doe^Jane",
    accession: str = "ACC-1001",
    description: str = "CT chest",
    study_date: dt.date = dt.date(2024, 3, 14),
    per_series: tuple[int, int] = (3, 2),
    modalities: tuple[str, str] = ("CT", "PT"),
    size: int = 16,
    **extra: Any,
) -> StudyFiles:
    study = StudyFiles()
    for index, (series_uid, count, modality) in enumerate(
        zip(study.series_uids, per_series, modalities, strict=True), start=1
    ):
        for number in range(1, count + 1):
            sop = generate_uid()
            study.sop_uids.append(sop)
            data = dicom_bytes(
                rows=size,
                columns=size,
                modality=modality,
                patient_id=patient_id,
                patient_name=patient_name,
                study_date=study_date,
                study_instance_uid=study.study_uid,
                series_instance_uid=series_uid,
                sop_instance_uid=sop,
                laterality=None,
                view=None,
                body_part="CHEST",
                extra={
                    "AccessionNumber": accession,
                    "StudyDescription": description,
                    "StudyTime": "101500",
                    "ReferringPhysicianName": "House^Gregory",
                    "PatientBirthDate": "19700101",
                    "PatientSex": "F",
                    "SeriesNumber": index,
                    "SeriesDescription": f"{modality} series {index}",
                    "InstanceNumber": number,
                    **extra,
                },
            )
            study.files.append((f"s{index}-i{number}.dcm", data))
    return study


def upload(
    client: TestClient, headers: dict[str, str], items: list[tuple[str, bytes]]
) -> dict[str, Any]:
    response = client.post(
        "/api/upload",
        files=[("files", (name, data, "application/dicom")) for name, data in items],
        headers=headers,
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body
