"""Signing in, tokens, refresh rotation, logout."""

from datetime import timedelta

import jwt
import pytest
from fastapi.testclient import TestClient

from tests.conftest import PASSWORD, MakeUser, login
from vesalius.accounts import tokens
from vesalius.accounts.models import Role, UserStatus
from vesalius.accounts.tokens import AccessTokens
from vesalius.context import AppContext


def _login(client: TestClient, email: str, password: str = PASSWORD, **extra: str):  # type: ignore[no-untyped-def]
    return client.post("/api/auth/login", json={"email": email, "password": password, **extra})


def test_login_returns_tokens_and_me_works(client: TestClient, make_user: MakeUser) -> None:
    user = make_user(Role.radiologist, email="Rita@Example.org")
    response = _login(client, "  RITA@example.ORG ")
    assert response.status_code == 200
    body = response.json()
    assert body["tokenType"] == "bearer"
    assert body["expiresIn"] == 15 * 60
    assert body["refreshExpiresIn"] == 7 * 24 * 3600
    assert body["user"]["email"] == "rita@example.org"
    header = jwt.get_unverified_header(body["accessToken"])
    assert header["alg"] == "RS256"
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['accessToken']}"})
    assert me.status_code == 200
    assert me.json()["id"] == user.id
    assert me.json()["role"] == "radiologist"
    assert me.json()["lastLoginAt"] is not None


def test_wrong_password_and_unknown_email_look_the_same(
    client: TestClient, make_user: MakeUser
) -> None:
    make_user(email="known@example.org")
    wrong = _login(client, "known@example.org", "not-the-password")
    unknown = _login(client, "nobody@example.org", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "invalid_credentials"


@pytest.mark.parametrize(
    ("status", "code"),
    [(UserStatus.disabled, "account_disabled"), (UserStatus.pending, "account_pending")],
)
def test_inactive_accounts_are_refused_with_403(
    client: TestClient, make_user: MakeUser, status: UserStatus, code: str
) -> None:
    make_user(email="someone@example.org", status=status)
    response = _login(client, "someone@example.org")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == code


def test_no_token_tampered_token_and_expired_token(
    client: TestClient, ctx: AppContext, make_user: MakeUser
) -> None:
    user = make_user()
    assert client.get("/api/auth/me").json()["error"]["code"] == "not_authenticated"
    headers = login(client, user.email)
    token = headers["Authorization"].split()[1]
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    response = client.get("/api/auth/me", headers={"Authorization": f"Bearer {tampered}"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"

    # A token signed with our own key but already past its expiry.
    claims = ctx.access_tokens.decode(token)
    expired = AccessTokens(ctx.keys, timedelta(seconds=-5)).issue(
        user_id=user.id, role=user.role.value, session_id=claims.session_id
    )
    response = client.get("/api/auth/me", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_expired"
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_token_used_before_expires_when_its_time_comes(
    client: TestClient, ctx: AppContext, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checked signatures are remembered between requests; the expiry is not."""
    user = make_user()
    headers = login(client, user.email)
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    expires_at = ctx.access_tokens.decode(headers["Authorization"].split()[1]).expires_at

    monkeypatch.setattr(tokens, "utcnow", lambda: expires_at + timedelta(seconds=1))
    response = client.get("/api/auth/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_expired"


def test_unsigned_token_is_refused(client: TestClient, make_user: MakeUser) -> None:
    user = make_user()
    forged = jwt.encode(
        {
            "sub": str(user.id),
            "sid": "x",
            "typ": "access",
            "iss": "vesalius",
            "exp": 9999999999,
            "iat": 0,
        },
        key=None,
        algorithm="none",
    )
    response = client.get("/api/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


def test_refresh_rotates_and_reuse_revokes_the_family(
    client: TestClient, make_user: MakeUser
) -> None:
    user = make_user()
    first = _login(client, user.email).json()
    second = client.post("/api/auth/refresh", json={"refreshToken": first["refreshToken"]})
    assert second.status_code == 200
    rotated = second.json()
    assert rotated["refreshToken"] != first["refreshToken"]
    assert (
        client.get(
            "/api/auth/me", headers={"Authorization": f"Bearer {rotated['accessToken']}"}
        ).status_code
        == 200
    )

    # The first refresh token was spent: presenting it again is theft detection.
    replay = client.post("/api/auth/refresh", json={"refreshToken": first["refreshToken"]})
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "refresh_token_reused"
    # ... and the whole family is gone, including the legitimately rotated tokens.
    after = client.post("/api/auth/refresh", json={"refreshToken": rotated["refreshToken"]})
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "session_revoked"
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {rotated['accessToken']}"})
    assert me.status_code == 401
    assert me.json()["error"]["code"] == "session_revoked"


def test_unknown_refresh_token(client: TestClient) -> None:
    response = client.post("/api/auth/refresh", json={"refreshToken": "made-up"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_refresh_token"


def test_other_sessions_survive_one_family_revocation(
    client: TestClient, make_user: MakeUser
) -> None:
    user = make_user()
    laptop = _login(client, user.email).json()
    phone = _login(client, user.email).json()
    client.post("/api/auth/refresh", json={"refreshToken": laptop["refreshToken"]})
    client.post("/api/auth/refresh", json={"refreshToken": laptop["refreshToken"]})  # reuse
    assert (
        client.post("/api/auth/refresh", json={"refreshToken": phone["refreshToken"]}).status_code
        == 200
    )


def test_logout_ends_access_and_refresh_tokens(client: TestClient, make_user: MakeUser) -> None:
    user = make_user()
    tokens = _login(client, user.email).json()
    headers = {"Authorization": f"Bearer {tokens['accessToken']}"}
    assert client.post("/api/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/auth/me", headers=headers).json()["error"]["code"] == "session_revoked"
    refreshed = client.post("/api/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert refreshed.status_code == 401


def test_logout_with_only_a_refresh_token(client: TestClient, make_user: MakeUser) -> None:
    user = make_user()
    tokens = _login(client, user.email).json()
    assert (
        client.post("/api/auth/logout", json={"refreshToken": tokens["refreshToken"]}).status_code
        == 204
    )
    refreshed = client.post("/api/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert refreshed.json()["error"]["code"] == "session_revoked"
    assert client.post("/api/auth/logout").status_code == 401


def test_disabling_a_user_cuts_their_live_tokens(
    client: TestClient, make_user: MakeUser, admin_headers: dict[str, str]
) -> None:
    user = make_user()
    tokens = _login(client, user.email).json()
    headers = {"Authorization": f"Bearer {tokens['accessToken']}"}
    response = client.patch(
        f"/api/admin/users/{user.id}", json={"status": "disabled"}, headers=admin_headers
    )
    assert response.status_code == 200
    assert client.get("/api/auth/me", headers=headers).status_code == 401
    assert (
        client.post("/api/auth/refresh", json={"refreshToken": tokens["refreshToken"]}).status_code
        == 401
    )


def test_change_password_signs_out_other_sessions(client: TestClient, make_user: MakeUser) -> None:
    user = make_user()
    other = login(client, user.email)
    mine = login(client, user.email)
    wrong = client.post(
        "/api/auth/password",
        json={"currentPassword": "nope-nope-nope", "newPassword": "another-long-pass"},
        headers=mine,
    )
    assert wrong.status_code == 401
    weak = client.post(
        "/api/auth/password",
        json={"currentPassword": PASSWORD, "newPassword": "short"},
        headers=mine,
    )
    assert weak.status_code == 400
    assert weak.json()["error"]["code"] == "weak_password"
    ok = client.post(
        "/api/auth/password",
        json={"currentPassword": PASSWORD, "newPassword": "another-long-pass"},
        headers=mine,
    )
    assert ok.status_code == 204
    assert client.get("/api/auth/me", headers=mine).status_code == 200
    assert client.get("/api/auth/me", headers=other).status_code == 401
    assert _login(client, user.email).status_code == 401
    assert _login(client, user.email, "another-long-pass").status_code == 200
