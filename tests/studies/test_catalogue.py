"""Every DICOM upload becomes an instance of its series, of its study, of its patient; the
same SOP Instance UID is stored once; counts follow uploads and deletions."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.conftest import MakeUser, login, make_settings
from tests.studies.data import make_study, upload
from tests.uploads.files import png_bytes
from vesalius.accounts.models import Role
from vesalius.app import create_app
from vesalius.context import AppContext, build_context
from vesalius.imaging.models import Image
from vesalius.studies.models import Instance, Patient, Series, Study, StudySender


def originals(ctx: AppContext) -> list[str]:
    return list(ctx.blobs.iter_keys("originals/"))


def test_a_multi_series_upload_builds_patient_study_series_and_counts(
    client: TestClient, ctx: AppContext, make_user: MakeUser
) -> None:
    clinician = make_user(Role.clinician)
    study = make_study()
    body = upload(client, login(client, clinician.email), study.files)
    assert len(body["images"]) == 5 and body["alreadyStored"] == []
    with ctx.db.read_session() as session:
        (row,) = session.scalars(select(Study)).all()
        assert row.study_instance_uid == study.study_uid
        assert (row.number_of_series, row.number_of_instances) == (2, 5)
        assert row.modalities_in_study == "CT\\PT"
        assert row.accession_number == "ACC-1001"
        assert row.study_description == "CT chest"
        assert row.referring_physician == "House^Gregory"
        assert row.study_time == "101500"
        patient = session.get(Patient, row.patient_pk)
        assert patient is not None
        assert (patient.patient_id, patient.patient_name, patient.sex) == (
            "PAT-001",
            "Doe^Jane",
            "F",
        )
        series = session.scalars(select(Series).order_by(Series.series_number)).all()
        assert [(s.modality, s.series_number, s.number_of_instances) for s in series] == [
            ("CT", 1, 3),
            ("PT", 2, 2),
        ]
        assert series[0].series_description == "CT series 1"
        numbers = session.scalars(
            select(Instance.instance_number)
            .where(Instance.series_pk == series[0].id)
            .order_by(Instance.instance_number)
        ).all()
        assert numbers == [1, 2, 3]
        senders = session.execute(select(StudySender.user_id, StudySender.via)).all()
        assert [(u, v.value) for u, v in senders] == [(clinician.id, "upload")]


def test_ordinary_images_stay_outside_any_study(
    client: TestClient, ctx: AppContext, make_user: MakeUser
) -> None:
    user = make_user(Role.researcher)
    upload(client, login(client, user.email), [("cells.png", png_bytes())])
    with ctx.db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Instance)) == 0
        assert session.scalar(select(func.count()).select_from(Study)) == 0


def test_the_same_instance_sent_again_is_already_stored_not_copied(
    client: TestClient, ctx: AppContext, make_user: MakeUser
) -> None:
    first = make_user(Role.clinician)
    study = make_study()
    body = upload(client, login(client, first.email), study.files[:2])
    stored_ids = [image["id"] for image in body["images"]]
    blobs_before = originals(ctx)

    # The same two instances and one new one, from the same clinician.
    again = upload(client, login(client, first.email), study.files[:3])
    assert [a["imageId"] for a in again["alreadyStored"]] == stored_ids
    assert [a["sopInstanceUid"] for a in again["alreadyStored"]] == study.sop_uids[:2]
    assert [a["filename"] for a in again["alreadyStored"]] == ["s1-i1.dcm", "s1-i2.dcm"]
    assert len(again["images"]) == 1 and len(again["jobs"]) == 1
    assert len(originals(ctx)) == len(blobs_before) + 1  # the copies' blobs were removed

    with ctx.db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Image)) == 3
        row = session.scalars(select(Study)).one()
        assert row.number_of_instances == 3


def test_another_user_sending_a_stored_instance_keeps_it_in_their_gallery(
    client: TestClient, ctx: AppContext, make_user: MakeUser
) -> None:
    """Their upload must not vanish from their gallery; the study still counts the instance
    once, and they are a sender of it (so they see the whole study)."""
    first, second = make_user(Role.clinician), make_user(Role.researcher)
    study = make_study()
    upload(client, login(client, first.email), study.files)
    headers = login(client, second.email)
    body = upload(client, headers, study.files[:1])
    assert body["alreadyStored"] == [] and len(body["images"]) == 1
    gallery = client.get("/api/images", headers=headers).json()
    assert [image["id"] for image in gallery["images"]] == [body["images"][0]["id"]]
    with ctx.db.read_session() as session:
        assert session.scalars(select(Study)).one().number_of_instances == 5
        assert set(session.scalars(select(StudySender.user_id))) == {first.id, second.id}
    listed = client.get("/api/studies", headers=headers).json()
    assert [s["studyInstanceUid"] for s in listed["studies"]] == [study.study_uid]
    # Sent again by the same researcher: now it is already stored (their own copy).
    again = upload(client, headers, study.files[:1])
    assert [a["imageId"] for a in again["alreadyStored"]] == [body["images"][0]["id"]]


def test_twice_in_one_request_is_stored_once(
    client: TestClient, ctx: AppContext, make_user: MakeUser
) -> None:
    user = make_user(Role.clinician)
    name, data = make_study().files[0]
    body = upload(client, login(client, user.email), [(name, data), ("copy.dcm", data)])
    assert len(body["images"]) == 1
    assert body["alreadyStored"][0]["imageId"] == body["images"][0]["id"]


def test_others_see_an_instance_only_through_a_study_they_may_see(
    client: TestClient, make_user: MakeUser
) -> None:
    owner = make_user(Role.clinician)
    body = upload(client, login(client, owner.email), make_study().files[:1])
    image_id = body["images"][0]["id"]
    for role, status in (
        (Role.clinician, 404),
        (Role.researcher, 404),
        (Role.radiologist, 200),
        (Role.admin, 200),
    ):
        other = make_user(role)
        response = client.get(f"/api/images/{image_id}", headers=login(client, other.email))
        assert response.status_code == status, (role, response.text)


def test_deleting_instances_updates_counts_and_removes_empty_levels(
    client: TestClient, ctx: AppContext, make_user: MakeUser
) -> None:
    user = make_user(Role.clinician)
    headers = login(client, user.email)
    study = make_study(per_series=(2, 1))
    ids = [image["id"] for image in upload(client, headers, study.files)["images"]]

    assert client.delete(f"/api/images/{ids[2]}", headers=headers).status_code == 204
    with ctx.db.read_session() as session:
        row = session.scalars(select(Study)).one()
        assert (row.number_of_series, row.number_of_instances) == (1, 2)
        assert row.modalities_in_study == "CT"

    for image_id in ids[:2]:
        assert client.delete(f"/api/images/{image_id}", headers=headers).status_code == 204
    with ctx.db.read_session() as session:
        for model in (Study, Series, Instance, Patient, StudySender):
            assert session.scalar(select(func.count()).select_from(model)) == 0, model


@pytest.fixture
def overwriting_client(data_dir, database_url):  # type: ignore[no-untyped-def]
    context = build_context(make_settings(data_dir, database_url, dicom_overwrite=True))
    with TestClient(create_app(context.settings, with_ui=False, ctx=context)) as test_client:
        yield test_client, context
    context.close()


def test_with_overwrite_the_new_copy_replaces_the_stored_one(
    overwriting_client: tuple[TestClient, AppContext], make_user: MakeUser
) -> None:
    client, ctx = overwriting_client
    user = make_user(Role.clinician)
    headers = login(client, user.email)
    name, data = make_study().files[0]
    upload(client, headers, [(name, data)])
    old_keys = originals(ctx)

    body = upload(client, headers, [(name, data)])
    assert body["alreadyStored"] == []
    new_id = body["images"][0]["id"]
    # (SQLite may hand the freed id out again: the old blob is what proves the replacement.)
    assert not set(old_keys) & set(originals(ctx))
    assert len(originals(ctx)) == 1
    assert client.get(f"/api/images/{new_id}", headers=headers).status_code == 200
    with ctx.db.read_session() as session:
        instance = session.scalars(select(Instance)).one()
        assert instance.image_id == new_id
        assert session.scalars(select(Study)).one().number_of_instances == 1


def test_an_instance_recorded_twice_at_once_keeps_its_first_image(
    client: TestClient, ctx: AppContext, make_user: MakeUser
) -> None:
    """Two arrivals of one instance can both pass the "already stored?" check before either
    commits; the second image must not take the instance over or count twice."""
    from vesalius.imaging.catalogue import Sender, catalogue_of

    user = make_user(Role.clinician)
    name, data = make_study().files[0]
    first_id = upload(client, login(client, user.email), [(name, data)])["images"][0]["id"]
    with ctx.db.session() as session:
        first = session.get(Image, first_id)
        assert first is not None
        twin = Image(
            user_id=user.id,
            original_name="twin.dcm",
            file_type=first.file_type,
            content_type=first.content_type,
            size_bytes=first.size_bytes,
            sha256=first.sha256,
            storage_key=first.storage_key,
        )
        session.add(twin)
        session.flush()
        catalogue_of(ctx).record(session, [twin], Sender(user.id))
        session.commit()
        instance = session.scalars(select(Instance)).one()
        assert instance.image_id == first_id
        assert session.scalars(select(Study)).one().number_of_instances == 1
