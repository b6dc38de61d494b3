"""Two-factor sign-in with TOTP."""

import base64

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import PASSWORD, MakeUser, login
from vesalius.accounts.models import User
from vesalius.context import AppContext


def _enrol(client: TestClient, headers: dict[str, str]) -> str:
    setup = client.post("/api/auth/totp/setup", headers=headers)
    assert setup.status_code == 200
    body = setup.json()
    assert body["otpauthUri"].startswith("otpauth://totp/Vesalius:")
    assert body["qrSvg"].startswith("data:image/svg+xml;base64,")
    assert b"<svg" in base64.b64decode(body["qrSvg"].split(",", 1)[1])
    code = pyotp.TOTP(body["secret"]).now()
    verified = client.post("/api/auth/totp/verify", json={"code": code}, headers=headers)
    assert verified.status_code == 200
    assert verified.json()["totpEnabled"] is True
    return str(body["secret"])


def test_enrolment_then_login_requires_the_code(client: TestClient, make_user: MakeUser) -> None:
    user = make_user()
    secret = _enrol(client, login(client, user.email))

    without = client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert without.status_code == 401
    assert without.json()["error"]["code"] == "totp_required"

    wrong = client.post(
        "/api/auth/login", json={"email": user.email, "password": PASSWORD, "totpCode": "000000"}
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "invalid_totp"

    # Signing in straight after enrolling works: the enrolment code is not "used up".
    code = pyotp.TOTP(secret).now()
    ok = client.post(
        "/api/auth/login", json={"email": user.email, "password": PASSWORD, "totpCode": code}
    )
    assert ok.status_code == 200
    replay = client.post(
        "/api/auth/login", json={"email": user.email, "password": PASSWORD, "totpCode": code}
    )
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "invalid_totp"


def test_wrong_password_with_totp_still_says_invalid_credentials(
    client: TestClient, make_user: MakeUser
) -> None:
    user = make_user()
    secret = _enrol(client, login(client, user.email))
    response = client.post(
        "/api/auth/login",
        json={
            "email": user.email,
            "password": "wrong-password",
            "totpCode": pyotp.TOTP(secret).now(),
        },
    )
    assert response.json()["error"]["code"] == "invalid_credentials"


def test_secret_is_encrypted_at_rest(
    client: TestClient, ctx: AppContext, make_user: MakeUser
) -> None:
    user = make_user()
    secret = _enrol(client, login(client, user.email))
    with ctx.db.read_session() as session:
        stored = session.scalar(select(User.totp_secret_encrypted).where(User.id == user.id))
    assert stored and secret not in stored
    assert ctx.totp.decrypt(stored) == secret


def test_setup_twice_and_verify_errors(client: TestClient, make_user: MakeUser) -> None:
    headers = login(client, make_user().email)
    not_started = client.post("/api/auth/totp/verify", json={"code": "123456"}, headers=headers)
    assert not_started.json()["error"]["code"] == "totp_not_started"
    client.post("/api/auth/totp/setup", headers=headers)
    bad = client.post("/api/auth/totp/verify", json={"code": "12345x"}, headers=headers)
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_totp"
    _enrol_again = client.post("/api/auth/totp/setup", headers=headers)
    assert _enrol_again.status_code == 200  # not yet confirmed: may restart
    secret = _enrol_again.json()["secret"]
    client.post("/api/auth/totp/verify", json={"code": pyotp.TOTP(secret).now()}, headers=headers)
    again = client.post("/api/auth/totp/setup", headers=headers)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "totp_already_enabled"


@pytest.mark.parametrize("via", ["api", "cli"])
def test_admin_can_reset_totp(
    client: TestClient,
    admin_headers: dict[str, str],
    make_user: MakeUser,
    via: str,
    ctx: AppContext,
) -> None:
    user = make_user()
    _enrol(client, login(client, user.email))
    if via == "api":
        response = client.post(f"/api/admin/users/{user.id}/reset-totp", headers=admin_headers)
        assert response.status_code == 200
        assert response.json()["totpEnabled"] is False
    else:
        from tests.cli_helpers import run_cli

        result = run_cli(ctx.settings, ["users", "reset-totp", user.email])
        assert result.exit_code == 0, result.output
    assert login(client, user.email)
