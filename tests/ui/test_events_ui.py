"""Admin → Ingest keys and Analytics → Live in a real browser: a key created in the UI sends
events that the live dashboard shows within seconds; a revoked key is refused."""

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.events.conftest import event
from tests.ui.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Hub, Shot, sign_in

pytestmark = pytest.mark.browser


def test_a_key_made_in_the_ui_feeds_the_live_dashboard(page: Page, hub: Hub, shot: Shot) -> None:
    page.goto("/admin/ingest-keys")
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    expect(page.get_by_test_id("ingest-keys-page")).to_be_visible()
    page.get_by_test_id("key-name").fill("Ward kiosk")
    page.get_by_test_id("key-create").click()
    secret_box = page.get_by_test_id("key-secret")
    expect(secret_box).to_have_value(re.compile(r"^vik_"))
    secret = secret_box.input_value()
    assert secret.startswith("vik_")
    expect(page.get_by_test_id("keys-table")).to_contain_text("Ward kiosk")
    shot(page, "ingest-keys")

    batch = [
        event(clientId="kiosk", userId=f"u{i}", route=f"/ward/{i % 3}", durationMs=20 + i)
        for i in range(30)
    ]
    with httpx.Client(base_url=hub.url, headers={"X-Ingest-Key": secret}) as http:
        assert http.post("/api/events", json={"events": batch}).json()["accepted"] == 30

        page.goto("/analytics/live")
        expect(page.get_by_test_id("live-page")).to_be_visible()
        expect(page.get_by_test_id("live-state")).to_have_text("live")
        page.get_by_test_id("live-window").get_by_text("60s").click()
        users = page.get_by_test_id("live-users").get_by_test_id("card-value")
        expect(users).not_to_have_text("0", timeout=15_000)
        expect(page.get_by_test_id("live-routes")).to_contain_text("/ward/")
        for _ in range(3):  # a little more traffic so the charts have a line to draw
            http.post("/api/events", json={"events": [event(clientId="kiosk") for _ in range(20)]})
            page.wait_for_timeout(1100)
        shot(page, "live-dashboard")

        page.goto("/admin/ingest-keys")
        page.get_by_test_id("key-revoke").first.click()
        expect(page.get_by_test_id("keys-table")).to_contain_text("revoked")
        assert http.post("/api/events", json=event()).status_code == 401
