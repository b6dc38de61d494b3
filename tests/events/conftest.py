"""Helpers for the events tests: events built fresh, an ingest key, an admin's headers."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient


def event(**fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "eventId": str(uuid.uuid4()),
        "type": "page_view",
        "timestamp": datetime.now(UTC).isoformat(),
        "clientId": "web",
        "sessionId": "s1",
        "userId": "u1",
        "route": "/home",
        "statusCode": 200,
        "durationMs": 12.5,
    }
    values.update(fields)
    return {k: v for k, v in values.items() if v is not None}


def ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


def make_key(client: TestClient, headers: dict[str, str], **body: Any) -> str:
    response = client.post(
        "/api/admin/ingest-keys", json={"name": "web app", **body}, headers=headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["key"])


@pytest.fixture
def ingest_key(client: TestClient, admin_headers: dict[str, str]) -> dict[str, str]:
    return {"X-Ingest-Key": make_key(client, admin_headers)}
