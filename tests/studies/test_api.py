"""/api/studies: list and search with paging, one study with its series, a series with its
instances; everything through the one access rule."""

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import MakeUser, login
from tests.studies.data import StudyFiles, make_study, upload
from vesalius.accounts.models import Role, User


@pytest.fixture
def sender(make_user: MakeUser) -> User:
    return make_user(Role.clinician, email="ward3@example.org")


@pytest.fixture
def headers(client: TestClient, sender: User) -> dict[str, str]:
    return login(client, sender.email)


@pytest.fixture
def three_studies(client: TestClient, headers: dict[str, str]) -> list[StudyFiles]:
    studies = [
        make_study(
            patient_id="PAT-001",
            patient_name="Doe^Jane",
            accession="ACC-1001",
            study_date=dt.date(2024, 3, 14),
            per_series=(2, 1),
        ),
        make_study(
            patient_id="PAT-002",
            patient_name="Smith^John",
            accession="ACC-2002",
            description="MR brain",
            study_date=dt.date(2024, 6, 1),
            per_series=(1, 1),
            modalities=("MR", "MR"),
        ),
        make_study(
            patient_id="XY-77",
            patient_name="Doe^Anna",
            accession="ACC-3003",
            study_date=dt.date(2023, 12, 31),
            per_series=(1, 1),
            modalities=("MG", "MG"),
        ),
    ]
    for study in studies:
        upload(client, headers, study.files)
    return studies


def studies(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get("/api/studies", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def names(body: dict[str, Any]) -> list[str]:
    return [s["patientName"] for s in body["studies"]]


def test_the_list_shows_each_study_with_its_counts_newest_first(
    client: TestClient, headers: dict[str, str], three_studies: list[StudyFiles]
) -> None:
    body = studies(client, headers)
    assert body["total"] == 3 and body["totalCapped"] is False and body["hasMore"] is False
    assert names(body) == ["Doe^Anna", "Smith^John", "Doe^Jane"]
    jane = body["studies"][2]
    assert jane["studyInstanceUid"] == three_studies[0].study_uid
    assert jane["patientId"] == "PAT-001"
    assert jane["accessionNumber"] == "ACC-1001"
    assert jane["studyDate"] == "2024-03-14"
    assert jane["studyDescription"] == "CT chest"
    assert jane["modalities"] == ["CT", "PT"]
    assert (jane["numberOfSeries"], jane["numberOfInstances"]) == (2, 3)
    assert body["studies"][1]["modalities"] == ["MR"]


SEARCHES: list[tuple[dict[str, str], list[str]]] = [
    ({"q": "doe"}, ["Doe^Anna", "Doe^Jane"]),
    ({"q": "xy-7"}, ["Doe^Anna"]),
    ({"patientName": "doe^j*"}, ["Doe^Jane"]),
    ({"patientName": "Sm?th^John"}, ["Smith^John"]),
    ({"patientId": "PAT-00?"}, ["Smith^John", "Doe^Jane"]),
    ({"accession": "2002"}, ["Smith^John"]),
    ({"modality": "pt"}, ["Doe^Jane"]),
    ({"from": "2024-01-01"}, ["Smith^John", "Doe^Jane"]),
    ({"to": "2024-03-14"}, ["Doe^Anna", "Doe^Jane"]),
    ({"from": "2024-03-01", "to": "2024-03-31", "q": "doe"}, ["Doe^Jane"]),
    ({"sort": "date"}, ["Smith^John", "Doe^Jane", "Doe^Anna"]),
    ({"sort": "patient"}, ["Doe^Anna", "Doe^Jane", "Smith^John"]),
]


def test_search_by_patient_date_modality_and_accession(
    client: TestClient, headers: dict[str, str], three_studies: list[StudyFiles]
) -> None:
    for params, expected in SEARCHES:  # one upload of the studies for every search
        body = studies(client, headers, **params)
        assert names(body) == expected, params
        assert body["total"] == len(expected), params


def test_cursor_and_offset_pages_cover_every_study_once(
    client: TestClient, headers: dict[str, str], three_studies: list[StudyFiles]
) -> None:
    first = studies(client, headers, limit=2)
    assert first["hasMore"] is True and first["nextCursor"]
    second = studies(client, headers, limit=2, cursor=first["nextCursor"])
    assert second["hasMore"] is False and second["nextCursor"] is None
    assert names(first) + names(second) == ["Doe^Anna", "Smith^John", "Doe^Jane"]
    by_offset = studies(client, headers, limit=2, offset=2, sort="date")
    assert names(by_offset) == ["Doe^Anna"] and by_offset["total"] == 3


def test_a_study_lists_its_series_with_thumbnails_and_a_series_its_instances(
    client: TestClient, headers: dict[str, str], three_studies: list[StudyFiles]
) -> None:
    study = three_studies[0]
    response = client.get(f"/api/studies/{study.study_uid}", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["patientName"] == "Doe^Jane"
    series = body["series"]
    assert [(s["seriesNumber"], s["modality"], s["numberOfInstances"]) for s in series] == [
        (1, "CT", 2),
        (2, "PT", 1),
    ]
    assert series[0]["seriesDescription"] == "CT series 1"
    assert all(s["thumbnailImageId"] for s in series)

    response = client.get(
        f"/api/studies/{study.study_uid}/series/{study.series_uids[0]}", headers=headers
    )
    assert response.status_code == 200, response.text
    detail = response.json()
    assert detail["studyInstanceUid"] == study.study_uid
    assert [i["instanceNumber"] for i in detail["instances"]] == [1, 2]
    assert [i["sopInstanceUid"] for i in detail["instances"]] == study.sop_uids[:2]
    assert detail["thumbnailImageId"] == series[0]["thumbnailImageId"]
    first = detail["instances"][0]
    assert first["urls"]["image"] == f"/api/images/{first['imageId']}"
    assert client.get(first["urls"]["image"], headers=headers).status_code == 200


def test_clinicians_see_only_what_they_sent_and_radiologists_see_everything(
    client: TestClient,
    make_user: MakeUser,
    three_studies: list[StudyFiles],
) -> None:
    study = three_studies[0]
    stranger = login(client, make_user(Role.clinician).email)
    researcher = login(client, make_user(Role.researcher).email)
    for outsider in (stranger, researcher):
        assert studies(client, outsider)["total"] == 0
        assert studies(client, outsider, q="doe")["studies"] == []
        for path in (
            f"/api/studies/{study.study_uid}",
            f"/api/studies/{study.study_uid}/series/{study.series_uids[0]}",
        ):
            response = client.get(path, headers=outsider)
            assert response.status_code == 404
            assert response.json()["error"]["code"] in ("study_not_found", "series_not_found")
    for role in (Role.radiologist, Role.admin):
        assert studies(client, login(client, make_user(role).email))["total"] == 3

    # The stranger sends one instance of the study: now they see all of it.
    upload(client, stranger, study.files[:1])
    body = studies(client, stranger)
    assert [s["studyInstanceUid"] for s in body["studies"]] == [study.study_uid]
    assert body["studies"][0]["numberOfInstances"] == 3


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"from": "14/03/2024"}, "invalid_date"),
        ({"from": "2024-05-01", "to": "2024-04-01"}, "invalid_date_range"),
        ({"limit": 0}, "invalid_limit"),
        ({"limit": 1000}, "invalid_limit"),
        ({"cursor": "abc"}, "invalid_cursor"),
        ({"cursor": "5", "sort": "date"}, "invalid_cursor"),
        ({"sort": "size"}, "invalid_sort"),
        ({"offset": -1}, "invalid_offset"),
    ],
)
def test_bad_parameters_are_a_clear_400(
    client: TestClient, headers: dict[str, str], params: dict[str, Any], code: str
) -> None:
    response = client.get("/api/studies", params=params, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == code


def test_an_unknown_study_or_series_is_404(
    client: TestClient, headers: dict[str, str], three_studies: list[StudyFiles]
) -> None:
    assert client.get("/api/studies/1.2.3.4", headers=headers).status_code == 404
    study = three_studies[0]
    response = client.get(f"/api/studies/{study.study_uid}/series/1.2.3", headers=headers)
    assert response.status_code == 404


def test_signing_in_is_required(client: TestClient) -> None:
    assert client.get("/api/studies").status_code == 401
