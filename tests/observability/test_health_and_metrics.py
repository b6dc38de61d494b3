import io
import json
import logging

import pytest
from fastapi.testclient import TestClient

from tests.conftest import make_settings
from vesalius.app import create_app
from vesalius.context import build_context
from vesalius.observability.logs import JsonFormatter, RequestIdFilter


def test_health_reports_database_queue_and_storage(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["mode"] == "embedded"
    assert body["database"]["status"] == "ok"
    assert body["database"]["backend"] in {"sqlite", "postgresql"}
    assert body["database"]["latencyMs"] >= 0
    assert body["queue"]["backend"] == "sqlite"
    storage = body["storage"]
    assert storage["freeBytes"] > 0
    assert storage["usedBytes"] + storage["freeBytes"] <= storage["totalBytes"]


def test_ready_when_migrated(client: TestClient) -> None:
    assert client.get("/health/ready").json() == {"status": "ready"}


def _client_for(data_dir, url):  # type: ignore[no-untyped-def]
    settings = make_settings(data_dir, url)
    ctx = build_context(settings)
    return TestClient(create_app(settings, with_ui=False, ctx=ctx)), ctx


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_ready_is_503_while_migrations_are_pending(data_dir, tmp_path, backend, request) -> None:  # type: ignore[no-untyped-def]
    url = (
        f"sqlite:///{tmp_path / 'empty.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("empty_postgres_url")
    )
    test_client, ctx = _client_for(data_dir, url)
    with test_client:
        response = test_client.get("/health/ready")
        assert response.status_code == 503
        assert response.json()["reason"] == "migrations_pending"
        assert response.json()["pending"][0] == "0001"
        assert test_client.get("/health").status_code == 200  # alive, just not ready
    ctx.close()


def test_ready_is_503_and_health_degraded_when_the_database_is_unreachable(data_dir) -> None:  # type: ignore[no-untyped-def]
    from tests.services import free_port

    url = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/nothing"
    test_client, ctx = _client_for(data_dir, url)
    with test_client:
        ready = test_client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["reason"] == "database_unreachable"
        health = test_client.get("/health").json()
        assert health["status"] == "degraded"
        assert health["database"]["status"] == "error"
    ctx.close()


def test_metrics_count_requests_by_route_template(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    client.get("/api/admin/users/12345", headers=admin_headers)
    client.get("/api/admin/users/67890", headers=admin_headers)
    text = client.get("/metrics").text
    line = next(
        line
        for line in text.splitlines()
        if line.startswith("vesalius_http_requests_total{")
        and 'route="/api/admin/users/{user_id}"' in line
        and 'status="404"' in line
    )
    assert line.endswith(" 2.0")
    assert "vesalius_http_request_duration_seconds_bucket" in text
    assert "/api/admin/users/12345" not in text  # no ids in label values


def test_json_logs_carry_the_request_id(client: TestClient) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("vesalius.access")
    previous_level = access.level
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        client.get("/api/auth/me", headers={"X-Request-ID": "trace-me-123"})
    finally:
        access.removeHandler(handler)
        access.setLevel(previous_level)
    entry = json.loads(stream.getvalue().splitlines()[-1])
    assert entry["request_id"] == "trace-me-123"
    assert entry["status"] == 401
    assert entry["route"] == "/api/auth/me"
    assert entry["level"] == "info"
    assert entry["duration_ms"] >= 0
