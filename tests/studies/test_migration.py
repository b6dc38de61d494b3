"""Upgrading a database that already holds DICOM images builds their hierarchy (0008)."""

import datetime as dt

import pytest
from sqlalchemy import MetaData, create_engine, insert, select
from sqlalchemy.engine import Engine

from vesalius.migrations import upgrade

NOW = dt.datetime(2025, 1, 2, 3, 4, 5)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'm.db'}"
    return str(request.getfixturevalue("empty_postgres_url"))


def _image(user_id: int, n: int, **dicom: object) -> dict[str, object]:
    return {
        "user_id": user_id,
        "original_name": f"f{n}.dcm",
        "file_type": "dcm",
        "content_type": "application/dicom",
        "size_bytes": 100,
        "sha256": f"{n:064d}",
        "storage_key": f"originals/{n}",
        "frames": 1,
        "status": "ready",
        "created_at": NOW + dt.timedelta(seconds=n),
        "updated_at": NOW,
        "view_count": 0,
        **dicom,
    }


def _populate(engine: Engine) -> None:
    meta = MetaData()
    meta.reflect(engine, only=["users", "images"])
    users, images = meta.tables["users"], meta.tables["images"]
    with engine.begin() as conn:
        for uid, email in ((1, "a@example.org"), (2, "b@example.org")):
            conn.execute(
                insert(users).values(
                    id=uid,
                    email=email,
                    display_name=email,
                    password_hash="x",
                    role="clinician",
                    status="active",
                    created_at=NOW,
                    totp_enabled=False,
                )
            )
        study = {"patient_id": "P1", "patient_name": "Doe^Jane", "study_instance_uid": "1.2.1"}
        rows = [
            _image(1, 1, **study, series_instance_uid="1.2.1.1", sop_instance_uid="1.2.1.1.1",
                   modality="CT", study_date=dt.date(2024, 3, 14)),
            _image(1, 2, **study, series_instance_uid="1.2.1.1", sop_instance_uid="1.2.1.1.2",
                   modality="CT", study_date=dt.date(2024, 3, 14)),
            _image(2, 3, **study, series_instance_uid="1.2.1.2", sop_instance_uid="1.2.1.2.1",
                   modality="PT", study_date=dt.date(2024, 3, 14)),
            # Stored twice before de-duplication existed: the older copy becomes the instance.
            _image(2, 4, **study, series_instance_uid="1.2.1.2", sop_instance_uid="1.2.1.2.1",
                   modality="PT", study_date=dt.date(2024, 3, 14)),
            # Another patient, and a DICOM file without a series UID (stays outside).
            _image(2, 5, patient_id="P2", study_instance_uid="1.3", series_instance_uid="1.3.1",
                   sop_instance_uid="1.3.1.1", modality="MG"),
            _image(2, 6, patient_id="P2", study_instance_uid="1.4", sop_instance_uid="1.4.1.1"),
            {**_image(1, 7), "file_type": "png", "content_type": "image/png"},
        ]  # fmt: skip
        for row in rows:
            conn.execute(insert(images).values(**row))


def test_upgrading_a_populated_database_builds_the_hierarchy(empty_url: str) -> None:
    upgrade(empty_url, "0007")
    engine = create_engine(empty_url)
    _populate(engine)
    upgrade(empty_url)
    meta = MetaData()
    meta.reflect(engine)
    t = meta.tables
    with engine.connect() as conn:
        patients = conn.execute(
            select(t["patients"].c.patient_id, t["patients"].c.patient_name).order_by(
                t["patients"].c.patient_id
            )
        ).all()
        assert [tuple(p) for p in patients] == [("P1", "Doe^Jane"), ("P2", None)]
        studies = {row.study_instance_uid: row for row in conn.execute(select(t["studies"])).all()}
        assert set(studies) == {"1.2.1", "1.3"}
        first = studies["1.2.1"]
        assert (first.number_of_series, first.number_of_instances) == (2, 3)
        assert first.modalities_in_study == "CT\\PT"
        assert first.study_date == dt.date(2024, 3, 14)
        assert studies["1.3"].modalities_in_study == "MG"
        instances = dict(
            conn.execute(select(t["instances"].c.sop_instance_uid, t["instances"].c.image_id)).all()
        )
        assert instances == {"1.2.1.1.1": 1, "1.2.1.1.2": 2, "1.2.1.2.1": 3, "1.3.1.1": 5}
        senders = conn.execute(
            select(t["study_senders"].c.study_pk, t["study_senders"].c.user_id)
        ).all()
        assert sorted((s.study_pk, s.user_id) for s in senders) == sorted(
            [(first.id, 1), (first.id, 2), (studies["1.3"].id, 2)]
        )
    engine.dispose()
