"""QIDO-style searches through ``StudyService`` (what DICOMweb and C-FIND will call):
matching by keyword or tag, wildcards, ranges, UID lists, levels, and DICOM JSON answers."""

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from tests.conftest import MakeUser, login
from tests.studies.data import StudyFiles, make_study, upload
from vesalius.accounts.models import Role, User
from vesalius.common.errors import BadRequest
from vesalius.context import AppContext
from vesalius.studies.access import Access
from vesalius.studies.answers import dicom_json, identifier
from vesalius.studies.attributes import Level
from vesalius.studies.queries import Query
from vesalius.studies.service import StudyService


@pytest.fixture
def stored(client: TestClient, make_user: MakeUser) -> tuple[User, list[StudyFiles]]:
    sender = make_user(Role.clinician)
    headers = login(client, sender.email)
    made = [
        make_study(patient_name="Doe^Jane", study_date=dt.date(2024, 3, 14)),
        make_study(
            patient_name="Roe^Richard",
            patient_id="PAT-009",
            study_date=dt.date(2024, 4, 2),
            modalities=("MR", "SR"),
            per_series=(1, 1),
        ),
    ]
    for study in made:
        upload(client, headers, study.files)
    return sender, made


def test_qido_style_matching(ctx: AppContext, stored: tuple[User, list[StudyFiles]]) -> None:
    sender, (jane, richard) = stored
    with ctx.db.read_session() as session:
        service = StudyService(ctx, session)

        def uids(level: Level, **match: str) -> list[str]:
            rows = service.search(sender, Query(level, match=match)).rows
            key = {Level.study: "StudyInstanceUID", Level.series: "SeriesInstanceUID"}
            return [r[key.get(level, "SOPInstanceUID")] for r in rows]

        assert uids(Level.study, PatientName="DOE*") == [jane.study_uid]
        assert uids(Level.study, **{"00100010": "?oe^Richard"}) == [richard.study_uid]
        assert uids(Level.study, PatientName="Doe") == []  # no wildcard: the whole name
        assert uids(Level.study, StudyDate="20240301-20240331") == [jane.study_uid]
        assert uids(Level.study, StudyDate="20240401-") == [richard.study_uid]
        assert sorted(uids(Level.study, StudyDate="-20241231")) == sorted(
            [jane.study_uid, richard.study_uid]
        )
        assert uids(Level.study, StudyTime="1000-1100") != []
        assert uids(Level.study, StudyTime="1100-1200") == []
        assert uids(Level.study, ModalitiesInStudy="SR") == [richard.study_uid]
        both = sorted([jane.study_uid, richard.study_uid])
        assert sorted(uids(Level.study, StudyInstanceUID="\\".join(both))) == both
        assert uids(Level.study, PatientName="") != []  # universal matching
        assert uids(Level.series, Modality="PT") == [jane.series_uids[1]]
        assert uids(Level.series, StudyInstanceUID=jane.study_uid) == list(jane.series_uids)
        assert uids(Level.instance, SeriesInstanceUID=jane.series_uids[0]) == jane.sop_uids[:3]
        assert uids(Level.instance, SOPInstanceUID=jane.sop_uids[4]) == [jane.sop_uids[4]]

        assert service.count(sender, Query(Level.study)) == 2
        assert service.count(sender, Query(Level.study), cap=1) == 1  # counting stops there
        assert service.count(sender, Query(Level.series, study_uid=jane.study_uid)) == 2

        page = service.search(Access.everything(), Query(Level.instance, limit=2, offset=5))
        assert len(page.rows) == 2 and page.has_more is False  # 7 instances in all


@pytest.mark.parametrize(
    ("level", "match", "code"),
    [
        (Level.study, {"StudyDate": "2024-01-01"}, "invalid_date_range"),
        (Level.study, {"StudyDate": "20240230"}, "invalid_date_range"),
        (Level.study, {"StudyDate": "20240301-20240201"}, "invalid_date_range"),
        (Level.study, {"StudyTime": "25h"}, "invalid_time_range"),
        (Level.study, {"Modality": "CT"}, "attribute_below_level"),
        (Level.study, {"NoSuchThing": "x"}, "unknown_attribute"),
        (Level.series, {"SeriesNumber": "one"}, "invalid_number"),
        (Level.study, {"NumberOfStudyRelatedSeries": "2"}, "attribute_not_matchable"),
    ],
)
def test_malformed_matching_is_a_bad_request(
    ctx: AppContext, level: Level, match: dict[str, str], code: str
) -> None:
    with ctx.db.read_session() as session, pytest.raises(BadRequest) as raised:
        StudyService(ctx, session).search(Access.everything(), Query(level, match=match))
    assert raised.value.code == code


def test_answers_in_dicom_json_and_as_identifiers(
    ctx: AppContext, stored: tuple[User, list[StudyFiles]]
) -> None:
    sender, (jane, _) = stored
    with ctx.db.read_session() as session:
        (row,) = (
            StudyService(ctx, session)
            .search(sender, Query(Level.study, match={"StudyInstanceUID": jane.study_uid}))
            .rows
        )
    answer = dicom_json(row, Level.study)
    assert answer["0020000D"] == {"vr": "UI", "Value": [jane.study_uid]}
    assert answer["00100010"] == {"vr": "PN", "Value": [{"Alphabetic": "Doe^Jane"}]}
    assert answer["00080020"] == {"vr": "DA", "Value": ["20240314"]}
    assert answer["00080061"] == {"vr": "CS", "Value": ["CT", "PT"]}
    assert answer["00201206"] == {"vr": "IS", "Value": [2]}
    assert answer["00201208"] == {"vr": "IS", "Value": [5]}
    assert answer["00081030"] == {"vr": "LO", "Value": ["CT chest"]}
    assert "0020000E" not in answer  # a series attribute has no place in a study answer
    narrowed = dicom_json(row, Level.study, include=["00100010", "StudyDate", "Nonsense"])
    assert set(narrowed) == {"00100010", "00080020"}

    found = identifier(row, Level.study)
    assert found.QueryRetrieveLevel == "STUDY"
    assert found.StudyInstanceUID == jane.study_uid
    assert list(found.ModalitiesInStudy) == ["CT", "PT"]
    assert str(found.PatientName) == "Doe^Jane"
