"""What every response has in common: the error shape, limits, headers, CORS, request ids."""

import pytest
from fastapi.testclient import TestClient

from tests.conftest import make_settings
from vesalius.app import create_app
from vesalius.context import build_context


def test_malformed_json_is_422_with_a_reason(client: TestClient) -> None:
    response = client.post(
        "/api/auth/login",
        content=b'{"email": "a@b.c", ',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"] == "request body is not valid JSON"
    assert error["details"][0]["type"] == "json_invalid"


def test_wrong_types_name_the_field(client: TestClient) -> None:
    response = client.post("/api/auth/login", json={"email": ["x"], "password": 12})
    assert response.status_code == 422
    fields = {d["field"] for d in response.json()["error"]["details"]}
    assert fields == {"body.email", "body.password"}


def test_unknown_route_and_wrong_method_use_the_error_shape(client: TestClient) -> None:
    missing = client.get("/api/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong = client.delete("/api/auth/login")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"


def test_body_over_the_limit_is_413_by_header_and_by_stream(client: TestClient) -> None:
    big = b'{"email": "' + b"a" * 2_000_000 + b'", "password": "x"}'
    declared = client.post(
        "/api/auth/login", content=big, headers={"Content-Type": "application/json"}
    )
    assert declared.status_code == 413
    assert declared.json()["error"]["code"] == "payload_too_large"
    assert declared.json()["error"]["details"]["limit"] == 1_048_576

    def chunks():  # no Content-Length: the limit must hold while streaming
        for _ in range(40):
            yield b"x" * 65_536

    streamed = client.post(
        "/api/auth/login", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413
    assert streamed.json()["error"]["code"] == "payload_too_large"


def test_security_headers_on_api_and_error_responses(client: TestClient) -> None:
    for response in (client.get("/health"), client.get("/api/auth/me"), client.get("/nope")):
        headers = response.headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "Strict-Transport-Security" not in headers  # development mode over plain HTTP


def test_request_id_is_echoed_or_generated(client: TestClient) -> None:
    echoed = client.get("/health", headers={"X-Request-ID": "ward-7.upload-42"})
    assert echoed.headers["X-Request-ID"] == "ward-7.upload-42"
    generated = client.get("/health")
    assert len(generated.headers["X-Request-ID"]) == 32
    hostile = client.get("/health", headers={"X-Request-ID": "x" * 500})
    assert hostile.headers["X-Request-ID"] != "x" * 500


@pytest.fixture
def cors_client(data_dir, sqlite_url):  # type: ignore[no-untyped-def]
    settings = make_settings(data_dir, sqlite_url, cors_origins=["https://viewer.example.org"])
    ctx = build_context(settings)
    with TestClient(create_app(settings, with_ui=False, ctx=ctx)) as test_client:
        yield test_client
    ctx.close()


def test_cors_only_for_the_allowlist(cors_client: TestClient) -> None:
    allowed = cors_client.options(
        "/api/auth/login",
        headers={"Origin": "https://viewer.example.org", "Access-Control-Request-Method": "POST"},
    )
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://viewer.example.org"
    other = cors_client.get("/health", headers={"Origin": "https://evil.example.com"})
    assert "Access-Control-Allow-Origin" not in other.headers
    simple = cors_client.get("/health", headers={"Origin": "https://viewer.example.org"})
    assert simple.headers["Access-Control-Allow-Origin"] == "https://viewer.example.org"
    assert "X-Request-ID" in simple.headers["Access-Control-Expose-Headers"]


def test_cors_origins_accept_a_comma_separated_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from vesalius.config import Settings

    monkeypatch.setenv("VESALIUS_CORS_ORIGINS", "https://a.example.org, https://b.example.org/")
    assert Settings(_env_file=None).cors_origins == [
        "https://a.example.org",
        "https://b.example.org",
    ]  # type: ignore[call-arg]


def test_unexpected_errors_are_500_without_internals(ctx) -> None:  # type: ignore[no-untyped-def]
    app = create_app(ctx.settings, with_ui=False, ctx=ctx)

    @app.get("/api/test-boom")
    def boom() -> None:
        raise RuntimeError("secret internal detail")

    with TestClient(app, raise_server_exceptions=False) as test_client:
        response = test_client.get("/api/test-boom")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "secret internal detail" not in response.text
    assert response.headers["X-Request-ID"]
