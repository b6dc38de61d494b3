"""POST /api/events: validation, idempotency, durable answers, keys and rate limits."""

from fastapi.testclient import TestClient

from tests.events.conftest import ago, event, make_key
from tests.waiting import wait_until


def test_one_event_is_stored_once_and_a_resend_is_a_duplicate(
    client: TestClient, ingest_key: dict[str, str], admin_headers: dict[str, str]
) -> None:
    sent = event(properties={"button": "buy"})
    first = client.post("/api/events", json=sent, headers=ingest_key)
    assert first.status_code == 200, first.text
    assert first.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    again = client.post("/api/events", json={"events": [sent]}, headers=ingest_key)
    assert again.json() == {"accepted": 0, "duplicates": 1, "rejected": []}

    # Acknowledged means committed: the raw events list has it right away.
    page = client.get("/api/events", params={"clientId": "web"}, headers=admin_headers).json()
    assert [e["eventId"] for e in page["events"]] == [sent["eventId"]]
    assert page["events"][0]["properties"] == {"button": "buy"}
    count = client.get("/api/events/count", params={"type": "page_view"}, headers=admin_headers)
    assert count.json() == {"count": 1}


def test_a_batch_rejects_bad_events_by_index_and_keeps_the_good_ones(
    client: TestClient, ingest_key: dict[str, str]
) -> None:
    good = event()
    batch = [
        good,
        event(statusCode=99, type=""),
        {"eventId": "not-a-uuid"},
        event(timestamp=ago(days=8)),
        event(timestamp=ago(hours=-25)),
        event(properties={"blob": "x" * 17_000}),
        good,  # the same id twice in one request counts once
    ]
    answer = client.post("/api/events", json={"events": batch}, headers=ingest_key).json()
    assert answer["accepted"] == 1
    assert answer["duplicates"] == 1
    rejected = {r["index"]: r for r in answer["rejected"]}
    assert set(rejected) == {1, 2, 3, 4, 5}
    assert set(rejected[1]["fields"]) == {"statusCode", "type"}
    assert {"eventId", "timestamp", "route"} <= set(rejected[2]["fields"])
    assert rejected[3]["code"] == "timestamp_too_old"
    assert rejected[4]["code"] == "timestamp_in_future"
    assert rejected[5]["code"] == "event_too_large"


def test_bad_requests_get_clear_errors(client: TestClient, ingest_key: dict[str, str]) -> None:
    def post(**kwargs: object) -> tuple[int, dict[str, object]]:
        response = client.post("/api/events", headers=ingest_key, **kwargs)  # type: ignore[arg-type]
        return response.status_code, response.json()["error"]

    status, error = post(json=event(clientId=None))
    assert (status, error["code"]) == (422, "invalid_event")
    assert error["details"] == {"fields": {"clientId": "required"}}
    status, error = post(json=event(properties={"blob": "x" * 17_000}))
    assert (status, error["code"]) == (413, "event_too_large")
    status, error = post(content=b'{"eventId": ')
    assert (status, error["code"]) == (400, "malformed_json")
    status, error = post(json={"events": [event() for _ in range(501)]})
    assert (status, error["code"]) == (413, "batch_too_large")
    status, error = post(json={"events": [{"type": 1}]})
    assert (status, error["code"]) == (422, "invalid_events")
    nobody = client.post("/api/events", json=event())
    assert nobody.status_code == 401
    wrong = client.post("/api/events", json=event(), headers={"X-Ingest-Key": "vik_nope"})
    assert wrong.json()["error"]["code"] == "invalid_ingest_key"


def test_signed_in_users_may_send_too(client: TestClient, admin_headers: dict[str, str]) -> None:
    answer = client.post("/api/events", json=event(), headers=admin_headers)
    assert answer.json()["accepted"] == 1


def test_ingest_keys_are_shown_once_listed_and_revoked(
    client: TestClient,
    admin_headers: dict[str, str],
    make_user,  # type: ignore[no-untyped-def]
) -> None:
    created = client.post(
        "/api/admin/ingest-keys",
        json={"name": "kiosk", "allowedOrigins": ["https://kiosk.example"], "rate": 5},
        headers=admin_headers,
    ).json()
    assert created["key"].startswith("vik_")
    listed = client.get("/api/admin/ingest-keys", headers=admin_headers).json()
    assert [k["name"] for k in listed] == ["kiosk"]
    assert "key" not in listed[0]
    assert listed[0]["keyPrefix"] == created["key"][:10]
    key = {"X-Ingest-Key": created["key"]}

    other_site = client.post(
        "/api/events", json=event(), headers={**key, "Origin": "https://evil.example"}
    )
    assert other_site.json()["error"]["code"] == "origin_not_allowed"
    assert client.post("/api/events", json=event(), headers=key).status_code == 200

    revoked = client.delete(f"/api/admin/ingest-keys/{created['id']}", headers=admin_headers)
    assert revoked.json()["revokedAt"] is not None
    refused = client.post("/api/events", json=event(), headers=key)
    assert refused.status_code == 401

    from tests.conftest import login

    clinician = make_user()
    assert (
        client.get("/api/admin/ingest-keys", headers=login(client, clinician.email)).status_code
        == 403
    )


def test_a_key_over_its_rate_gets_429_with_retry_after(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    key = {"X-Ingest-Key": make_key(client, admin_headers, rate=3)}
    statuses = [client.post("/api/events", json=event(), headers=key).status_code for _ in range(4)]
    assert statuses[:3] == [200, 200, 200]
    last = client.post("/api/events", json=event(), headers=key)
    assert last.status_code == 429
    assert last.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(last.headers["Retry-After"]) <= 60


def test_windows_show_acknowledged_events_within_a_second(
    client: TestClient, ingest_key: dict[str, str], admin_headers: dict[str, str]
) -> None:
    batch = [
        event(userId="a", sessionId="1", route="/a", durationMs=10),
        event(userId="b", sessionId="2", route="/a", durationMs=100, statusCode=503),
        event(userId="a", sessionId="1", route="/b", type="error"),
        event(userId="k", sessionId="9", route="/b", clientId="kiosk"),
    ]
    assert (
        client.post("/api/events", json={"events": batch}, headers=ingest_key).json()["accepted"]
        == 4
    )

    def window() -> dict[str, object]:
        # The web client only: the hub's own requests (sign-in …) are in the stream too.
        return client.get(
            "/api/events/aggregates",
            params={"window": "5s", "clientId": "web"},
            headers=admin_headers,
        ).json()

    wait_until(lambda: window()["events"] == 3, timeout=10)
    figures = window()
    assert figures["activeUsers"] == 2
    assert figures["activeSessions"] == 2
    assert figures["errorRate"] == round(2 / 3, 4)
    assert figures["byType"] == {"page_view": 2, "error": 1}
    assert figures["topRoutes"][0]["route"] == "/a"
    assert figures["topRoutes"][0]["count"] == 2
    assert 95 <= figures["topRoutes"][0]["p95DurationMs"] <= 111
    everyone = client.get(
        "/api/events/aggregates", params={"window": "60s"}, headers=admin_headers
    ).json()
    assert everyone["byClient"]["kiosk"] == 1
    assert everyone["byClient"]["web"] == 3
    bad = client.get("/api/events/aggregates", params={"window": "2m"}, headers=admin_headers)
    assert bad.json()["error"]["code"] == "invalid_window"


def test_the_hub_feeds_its_own_requests_into_the_stream(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    client.get("/api/admin/ingest-keys", headers=admin_headers)

    def hub_routes() -> set[str]:
        page = client.get(
            "/api/events", params={"clientId": "vesalius-hub"}, headers=admin_headers
        ).json()
        return {e["route"] for e in page["events"]}

    wait_until(lambda: "/api/admin/ingest-keys" in hub_routes(), timeout=10)
    page = client.get(
        "/api/events",
        params={"clientId": "vesalius-hub", "type": "sign_in"},
        headers=admin_headers,
    ).json()
    assert page["events"][0]["route"] == "/api/auth/login"
    assert page["events"][0]["statusCode"] == 200


def test_health_shows_what_the_ingest_pipeline_has_done(
    client: TestClient, ingest_key: dict[str, str]
) -> None:
    sent = event()
    client.post("/api/events", json=sent, headers=ingest_key)
    client.post("/api/events", json=sent, headers=ingest_key)
    client.post("/api/events", json={"events": [event(), {"type": "x"}]}, headers=ingest_key)
    figures = client.get("/health").json()["events"]
    assert (figures["accepted"], figures["duplicates"], figures["rejected"]) == (2, 1, 1)
    assert figures["openSockets"] == 0
    assert figures["writeLagSeconds"] >= 0
    assert "ingestRate" in figures and "windowLagSeconds" in figures
