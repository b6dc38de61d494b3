"""Admin user management: cursor pages, filters, create/update/delete, last-admin rule."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.conftest import PASSWORD, MakeUser, login, make_settings, pg_admin
from vesalius.accounts.models import Role, User, UserStatus
from vesalius.accounts.service import UserService
from vesalius.context import build_context


def _all_pages(client: TestClient, headers: dict[str, str], **params: object) -> list[dict]:  # type: ignore[type-arg]
    seen: list[dict] = []  # type: ignore[type-arg]
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/admin/users", params=query, headers=headers).json()
        seen.extend(body["users"])
        if not body["hasMore"]:
            assert body["nextCursor"] is None
            return seen
        cursor = body["nextCursor"]


def test_cursor_pages_cover_every_user_once_newest_first(
    client: TestClient, admin_headers: dict[str, str], make_user: MakeUser
) -> None:
    for _ in range(23):
        make_user()
    first = client.get("/api/admin/users", params={"limit": 10}, headers=admin_headers).json()
    assert len(first["users"]) == 10
    assert first["hasMore"] is True
    assert first["limit"] == 10
    users = _all_pages(client, admin_headers, limit=10)
    ids = [u["id"] for u in users]
    assert len(ids) == 24 == len(set(ids))  # 23 + the admin, none twice
    keys = [(u["createdAt"], u["id"]) for u in users]
    assert keys == sorted(keys, reverse=True)


def test_users_created_while_paging_are_neither_repeated_nor_skipped(
    client: TestClient, admin_headers: dict[str, str], make_user: MakeUser
) -> None:
    originals = [make_user().id for _ in range(12)]
    page = client.get("/api/admin/users", params={"limit": 5}, headers=admin_headers).json()
    seen = [u["id"] for u in page["users"]]
    make_user()  # arrives at the top, before the cursor: must not shift later pages
    make_user()
    cursor = page["nextCursor"]
    while cursor:
        page = client.get(
            "/api/admin/users", params={"limit": 5, "cursor": cursor}, headers=admin_headers
        ).json()
        seen.extend(u["id"] for u in page["users"])
        cursor = page["nextCursor"]
    assert len(seen) == len(set(seen))
    assert set(originals) <= set(seen)


def test_filters_by_role_status_and_text(
    client: TestClient, admin_headers: dict[str, str], make_user: MakeUser
) -> None:
    make_user(Role.radiologist, email="rad.one@example.org", name="Marie Curie")
    make_user(Role.radiologist, email="rad.two@example.org", status=UserStatus.disabled)
    make_user(Role.researcher, email="lab@example.org", name="Curie Lab")
    make_user(Role.clinician, email="under_score@example.org")

    def emails(**params: object) -> set[str]:
        body = client.get("/api/admin/users", params=params, headers=admin_headers).json()
        return {u["email"] for u in body["users"]}

    assert emails(role="radiologist") == {"rad.one@example.org", "rad.two@example.org"}
    assert emails(role="radiologist", status="active") == {"rad.one@example.org"}
    assert emails(status="disabled") == {"rad.two@example.org"}
    assert emails(q="CURIE") == {"rad.one@example.org", "lab@example.org"}
    # LIKE wildcards in the search text are literal characters, not patterns.
    assert emails(q="_") == {"under_score@example.org"}
    assert emails(q="%") == set()


def test_bad_list_parameters_are_400_or_422(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    for limit in (0, 101):
        response = client.get("/api/admin/users", params={"limit": limit}, headers=admin_headers)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_limit"
    response = client.get("/api/admin/users", params={"cursor": "yesterday"}, headers=admin_headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_cursor"
    response = client.get("/api/admin/users", params={"role": "wizard"}, headers=admin_headers)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "query.role"


def test_only_admins_manage_users(client: TestClient, make_user: MakeUser) -> None:
    for role in (Role.clinician, Role.radiologist, Role.researcher):
        headers = login(client, make_user(role).email)
        assert client.get("/api/admin/users", headers=headers).status_code == 403
        denied = client.post(
            "/api/admin/users", json={"email": "x@example.org", "role": "admin"}, headers=headers
        )
        assert denied.status_code == 403
        assert denied.json()["error"]["code"] == "insufficient_role"
    assert client.get("/api/admin/users").status_code == 401


def test_create_user_with_and_without_password(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    response = client.post(
        "/api/admin/users",
        json={
            "email": "New.Person@Example.org",
            "role": "radiologist",
            "displayName": "New Person",
            "password": "a-good-long-password",
        },
        headers=admin_headers,
    )
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "new.person@example.org"
    assert body["temporaryPassword"] is None
    assert login(client, "new.person@example.org", "a-good-long-password")

    generated = client.post(
        "/api/admin/users",
        json={"email": "temp@example.org", "role": "clinician"},
        headers=admin_headers,
    )
    assert generated.status_code == 201
    temporary = generated.json()["temporaryPassword"]
    assert temporary and len(temporary) >= 16
    assert login(client, "temp@example.org", temporary)


def test_create_user_errors(client: TestClient, admin_headers: dict[str, str], admin: User) -> None:
    duplicate = client.post(
        "/api/admin/users",
        json={"email": "ADMIN@example.org", "role": "clinician"},
        headers=admin_headers,
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "email_taken"
    bad_email = client.post(
        "/api/admin/users",
        json={"email": "not an email", "role": "clinician"},
        headers=admin_headers,
    )
    assert bad_email.status_code == 400
    assert bad_email.json()["error"]["code"] == "invalid_email"
    weak = client.post(
        "/api/admin/users",
        json={"email": "w@example.org", "role": "clinician", "password": "123"},
        headers=admin_headers,
    )
    assert weak.status_code == 400
    assert weak.json()["error"]["code"] == "weak_password"
    missing = client.post(
        "/api/admin/users", json={"email": "w@example.org"}, headers=admin_headers
    )
    assert missing.status_code == 422
    assert any(d["field"] == "body.role" for d in missing.json()["error"]["details"])
    unknown_field = client.post(
        "/api/admin/users",
        json={"email": "w@example.org", "role": "clinician", "isAdmin": True},
        headers=admin_headers,
    )
    assert unknown_field.status_code == 422


def test_update_role_status_and_name(
    client: TestClient, admin_headers: dict[str, str], make_user: MakeUser
) -> None:
    user = make_user(Role.clinician)
    response = client.patch(
        f"/api/admin/users/{user.id}",
        json={"role": "radiologist", "displayName": "Dr Who", "status": "pending"},
        headers=admin_headers,
    )
    assert response.status_code == 200
    assert response.json()["role"] == "radiologist"
    assert response.json()["displayName"] == "Dr Who"
    assert response.json()["status"] == "pending"
    fetched = client.get(f"/api/admin/users/{user.id}", headers=admin_headers).json()
    assert fetched["role"] == "radiologist"
    assert (
        client.patch(
            "/api/admin/users/999999", json={"role": "admin"}, headers=admin_headers
        ).status_code
        == 404
    )
    blank = client.patch(
        f"/api/admin/users/{user.id}", json={"displayName": "  "}, headers=admin_headers
    )
    assert blank.status_code == 400


def test_delete_user(
    client: TestClient, admin_headers: dict[str, str], make_user: MakeUser
) -> None:
    user = make_user()
    assert client.delete(f"/api/admin/users/{user.id}", headers=admin_headers).status_code == 204
    assert client.get(f"/api/admin/users/{user.id}", headers=admin_headers).status_code == 404
    assert client.delete(f"/api/admin/users/{user.id}", headers=admin_headers).status_code == 404


def test_the_last_admin_cannot_be_demoted_disabled_or_deleted(
    client: TestClient, admin_headers: dict[str, str], admin: User, make_user: MakeUser
) -> None:
    for change in ({"role": "clinician"}, {"status": "disabled"}, {"status": "pending"}):
        response = client.patch(f"/api/admin/users/{admin.id}", json=change, headers=admin_headers)
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "last_admin"
    assert (
        client.delete(f"/api/admin/users/{admin.id}", headers=admin_headers).json()["error"]["code"]
        == "cannot_delete_self"
    )

    second = make_user(Role.admin)
    second_headers = login(client, second.email)
    # With two admins one may go; then the remaining one is protected again.
    assert client.delete(f"/api/admin/users/{admin.id}", headers=second_headers).status_code == 204
    response = client.patch(
        f"/api/admin/users/{second.id}", json={"role": "clinician"}, headers=second_headers
    )
    assert response.json()["error"]["code"] == "last_admin"


def test_a_disabled_admin_does_not_count_as_the_remaining_admin(
    client: TestClient, admin_headers: dict[str, str], admin: User, make_user: MakeUser
) -> None:
    make_user(Role.admin, status=UserStatus.disabled)
    response = client.patch(
        f"/api/admin/users/{admin.id}", json={"role": "clinician"}, headers=admin_headers
    )
    assert response.status_code == 409


def test_a_user_who_owns_images_cannot_be_deleted_only_disabled(
    client: TestClient, admin_headers: dict[str, str], make_user: MakeUser
) -> None:
    from tests.uploads.files import png_bytes

    owner = make_user()
    uploaded = client.post(
        "/api/upload",
        files=[("files", ("a.png", png_bytes(), "image/png"))],
        headers=login(client, owner.email),
    )
    assert uploaded.status_code == 202
    refused = client.delete(f"/api/admin/users/{owner.id}", headers=admin_headers)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "user_has_data"
    assert client.get(f"/api/admin/users/{owner.id}", headers=admin_headers).status_code == 200
    disabled = client.patch(
        f"/api/admin/users/{owner.id}", json={"status": "disabled"}, headers=admin_headers
    )
    assert disabled.status_code == 200


def test_cursor_pages_do_not_depend_on_the_database_session_time_zone(
    request: pytest.FixtureRequest, data_dir: Path
) -> None:
    """A PostgreSQL server whose TimeZone is not UTC must page exactly like one that is."""
    url = request.getfixturevalue("postgres_url")
    server = request.getfixturevalue("pg_server")
    name = url.rsplit("/", 1)[1]
    admin_conn = pg_admin(server)
    admin_conn.execute(f"ALTER DATABASE \"{name}\" SET timezone = 'America/New_York'")
    try:
        ctx = build_context(make_settings(data_dir, url))
        try:
            with ctx.db.session() as session:
                service = UserService(ctx, session)
                admin, _ = service.create_user(
                    None, email="tz-admin@example.org", role=Role.admin, password=PASSWORD
                )
                for n in range(30):
                    service.create_user(
                        None, email=f"tz{n}@example.org", role=Role.clinician, password=PASSWORD
                    )
            seen: list[int] = []
            cursor = None
            with ctx.db.read_session() as session:
                assert session.execute(text("SHOW timezone")).scalar() == "America/New_York"
                while True:
                    page = UserService(ctx, session).list_users(admin, cursor=cursor, limit=7)
                    seen += [u.id for u in page.users]
                    if not page.has_more:
                        break
                    cursor = page.next_cursor
            assert len(seen) == len(set(seen)) == 31
        finally:
            ctx.close()
    finally:
        admin_conn.execute(f'ALTER DATABASE "{name}" RESET timezone')
        admin_conn.close()
