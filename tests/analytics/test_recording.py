"""Actions are recorded by the services where they happen, buffered, and never lost on a
graceful stop."""

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import PASSWORD, MakeUser, login, make_settings
from tests.uploads.files import bundled_dicom, png_bytes
from vesalius.accounts.models import Role
from vesalius.analytics.models import ImageView, UserActivity
from vesalius.context import AppContext, build_context
from vesalius.jobs.workers import Workers


def activities(ctx: AppContext) -> list[tuple[str, int | None, dict | None]]:  # type: ignore[type-arg]
    ctx.activity.flush()
    with ctx.db.read_session() as session:
        rows = session.scalars(select(UserActivity).order_by(UserActivity.id))
        return [(row.activity_type, row.user_id, row.details) for row in rows]


def test_sign_in_events(client: TestClient, ctx: AppContext, make_user: MakeUser) -> None:
    user = make_user(email="nina@example.org")
    client.post("/api/auth/login", json={"email": "nina@example.org", "password": "wrong-one"})
    client.post("/api/auth/login", json={"email": "ghost@example.org", "password": "wrong-one"})
    headers = login(client, user.email)
    client.post("/api/auth/logout", headers=headers)
    recorded = activities(ctx)
    assert [(kind, uid) for kind, uid, _ in recorded] == [
        ("login_failed", user.id),
        ("login_failed", None),
        ("login", user.id),
        ("logout", user.id),
    ]
    assert recorded[1][2] == {"email": "ghost@example.org", "reason": "invalid_credentials"}
    with ctx.db.read_session() as session:
        row = session.scalars(
            select(UserActivity).where(UserActivity.activity_type == "login")
        ).one()
        assert row.ip_address == "testclient"
        assert row.user_agent == "testclient"  # what the test client sends as User-Agent


def test_image_events_and_views(client: TestClient, ctx: AppContext, make_user: MakeUser) -> None:
    user = make_user()
    headers = login(client, user.email)
    upload = client.post(
        "/api/upload", files=[("files", ("a.png", png_bytes(), "image/png"))], headers=headers
    ).json()
    image_id = upload["images"][0]["id"]
    pool = Workers(ctx)
    pool.start()
    try:
        for _ in range(3):  # a viewer fetching several previews is one view
            assert (
                client.get(
                    f"/api/images/{image_id}/preview", params={"size": 64}, headers=headers
                ).status_code
                == 200
            )
    finally:
        pool.stop(timeout=10)
    client.get(f"/api/images/{image_id}/download", headers=headers)
    opened = client.post(f"/api/images/{image_id}/views", headers=headers)
    assert opened.status_code == 201
    view_id = opened.json()["viewId"]
    closed = client.patch(
        f"/api/images/{image_id}/views/{view_id}", json={"durationMs": 5400}, headers=headers
    )
    assert closed.status_code == 204
    client.delete(f"/api/images/{image_id}", headers=headers)
    kinds = [kind for kind, uid, _ in activities(ctx) if uid == user.id and kind != "login"]
    assert kinds == ["upload", "view", "download", "view", "delete"]
    uploaded = next(details for kind, _, details in activities(ctx) if kind == "upload")
    assert uploaded == {"fileType": "png", "sizeBytes": len(png_bytes()), "name": "a.png"}


def test_views_count_towards_most_viewed(
    client: TestClient, ctx: AppContext, make_user: MakeUser
) -> None:
    """Each recorded view adds to the image's count, which orders "most viewed"."""
    user = make_user()
    headers = login(client, user.email)
    admin = login(client, make_user(role=Role.admin).email)
    ids = [
        client.post(
            "/api/upload",
            files=[("files", (f"{n}.png", png_bytes(), "image/png"))],
            headers=headers,
        ).json()["images"][0]["id"]
        for n in range(3)
    ]
    for image_id, times in zip(ids, (1, 3, 2), strict=True):
        for _ in range(times):
            assert client.post(f"/api/images/{image_id}/views", headers=headers).status_code == 201
        ctx.activity.flush()  # counts added over several batches
    viewed = client.get("/api/analytics/images/most-viewed", headers=admin).json()["images"]
    assert [(image["id"], image["views"]) for image in viewed] == [
        (ids[1], 3),
        (ids[2], 2),
        (ids[0], 1),
    ]


def test_view_duration_is_stored(client: TestClient, ctx: AppContext, make_user: MakeUser) -> None:
    user = make_user()
    headers = login(client, user.email)
    image_id = client.post(
        "/api/upload",
        files=[("files", ("ct.dcm", bundled_dicom("CT_small.dcm"), "application/dicom"))],
        headers=headers,
    ).json()["images"][0]["id"]
    view_id = client.post(f"/api/images/{image_id}/views", headers=headers).json()["viewId"]
    client.patch(
        f"/api/images/{image_id}/views/{view_id}", json={"durationMs": 12_345}, headers=headers
    )
    ctx.activity.flush()
    with ctx.db.read_session() as session:
        view = session.scalars(select(ImageView).where(ImageView.view_key == view_id)).one()
    assert view.duration_ms == 12_345
    assert view.user_id == user.id
    negative = client.patch(
        f"/api/images/{image_id}/views/{view_id}", json={"durationMs": -1}, headers=headers
    )
    assert negative.status_code == 422
    stranger = login(client, make_user().email)
    assert client.post(f"/api/images/{image_id}/views", headers=stranger).status_code == 404


def test_a_graceful_stop_loses_nothing(
    data_dir: Path, database_url: str, make_user: MakeUser
) -> None:
    settings = make_settings(
        data_dir, database_url, analytics_flush_seconds=3600
    )  # never on its own
    ctx = build_context(settings)
    ctx.activity.start()
    from vesalius.analytics.models import ActivityType

    for n in range(2500):
        ctx.activity.record(None, ActivityType.login_failed, details={"n": n})
    ctx.close()  # what the server's shutdown does
    fresh = build_context(settings)
    with fresh.db.read_session() as session:
        numbers = [
            row.details["n"]
            for row in session.scalars(select(UserActivity).order_by(UserActivity.id))
        ]
    fresh.close()
    assert numbers == list(range(2500))


def test_recording_can_be_switched_off(data_dir: Path, database_url: str) -> None:
    from vesalius.analytics.models import ActivityType

    ctx = build_context(make_settings(data_dir, database_url, analytics_enabled=False))
    ctx.activity.record(None, ActivityType.login_failed)
    assert ctx.activity.pending() == 0
    ctx.close()


def test_events_of_deleted_things_do_not_block_the_rest(
    ctx: AppContext, make_user: MakeUser
) -> None:
    from vesalius.analytics.models import ActivityType

    user = make_user()
    ctx.activity.view_opened(user.id, 987_654)  # an image that does not exist (deleted)
    ctx.activity.record(user.id, ActivityType.login, details={"ok": True})
    ctx.activity.flush()
    with ctx.db.read_session() as session:
        assert session.scalars(select(UserActivity.details)).all() == [{"ok": True}]
        assert session.scalars(select(ImageView)).all() == []


def test_password_of_the_fixture_user_still_works(client: TestClient, make_user: MakeUser) -> None:
    assert login(client, make_user().email, PASSWORD)
