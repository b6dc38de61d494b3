"""The analytics dashboard and "My activity" in a real browser, over known activity (see
``analytics_history``): cards and charts show the expected figures, switching the range
changes every chart without reloading the page, CSV downloads match the API's, and a
non-administrator gets their own figures only."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.ui.analytics_history import MO_EMAIL, MO_PASSWORD, History, make_history
from tests.ui.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    Hub,
    Shot,
    hub_env,
    install_hub,
    path_is,
    serving,
    sign_in,
)
from vesalius.context import AppContext
from vesalius.ui.analytics_csv import ACTIVITY_COLUMNS, STATS_COLUMNS, TREND_COLUMNS
from vesalius.ui.images import human_size

pytestmark = pytest.mark.browser

# What a chart shows, read from the ECharts instance inside NiceGUI's element.
CHART_JS = """el => {
  const option = getElement(el).chart.getOption();
  return {
    days: option.xAxis ? option.xAxis[0].data : null,
    series: option.series.map(s => ({name: s.name, data: s.data})),
  };
}"""
CHART_HAS_DAYS_JS = """([name, days]) => {
  const el = document.querySelector(`[data-testid="${name}"]`);
  const option = el && getElement(el) && getElement(el).chart && getElement(el).chart.getOption();
  return !!option && option.xAxis[0].data.length === days;
}"""
# Every chart has drawn its data and finished animating to it (for steady screenshots).
CHARTS_STILL_JS = """() => [...document.querySelectorAll('.nicegui-echart')].every(el => {
  const chart = getElement(el) && getElement(el).chart;
  return !!chart && chart.getZr().animation.isFinished();
})"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """This module's own server, its recorder flushing every 0.1 s."""
    base = tmp_path_factory.mktemp("ui-analytics-hub")
    env = hub_env(base / "data", VESALIUS_ANALYTICS_FLUSH_SECONDS="0.1")
    install_hub(base, env)
    with serving(base, env) as url:
        yield Hub(url=url, data_dir=base / "data")


@pytest.fixture(scope="module")
def history(hub: Hub, seed: AppContext) -> History:
    return make_history(hub, seed, ADMIN_EMAIL, ADMIN_PASSWORD)


def chart(page: Page, name: str) -> dict[str, Any]:
    shown: dict[str, Any] = page.get_by_test_id(name).evaluate(CHART_JS)
    return shown


def wait_for_days(page: Page, days: int) -> None:
    for name in ("chart-uploads", "chart-activity", "chart-storage"):
        page.wait_for_function(CHART_HAS_DAYS_JS, arg=[name, days])


def still(page: Page, shot: Shot, name: str) -> None:
    page.wait_for_function(CHARTS_STILL_JS)
    shot(page, name)


def series(page: Page, name: str) -> dict[str, list[Any]]:
    return {s["name"]: s["data"] for s in chart(page, name)["series"]}


def card(page: Page, name: str) -> tuple[Locator, Locator]:
    found = page.get_by_test_id(name)
    return found.get_by_test_id("card-value"), found.get_by_test_id("card-detail")


def pick(page: Page, choice: str) -> None:
    page.get_by_test_id("range-toggle").get_by_text(choice, exact=True).click()


def test_dashboard_charts_follow_the_range_and_export_csv(
    page: Page, shot: Shot, hub: Hub, history: History
) -> None:
    d = history.day
    storage = human_size(sum(history.sizes.values()))
    page.goto("/analytics")
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    expect(page).to_have_url(path_is("/analytics"))
    root = page.get_by_test_id("analytics-page")
    expect(root).to_have_attribute("data-days", "30")
    wait_for_days(page, 30)

    # -- the last 30 days -----------------------------------------------------------------
    images, new = card(page, "card-images")
    expect(images).to_have_text("3")
    expect(new).to_have_text("3 new in the last 30 days")
    users, active = card(page, "card-users")
    expect(users).to_have_text("3")  # with the administrator ``vesalius init`` made today
    expect(active).to_have_text("2 active in the last 30 days")
    views, downloads = card(page, "card-views")
    expect(views).to_have_text("4")
    expect(downloads).to_have_text("2 downloads in the last 30 days")
    expect(card(page, "card-storage")[0]).to_have_text(storage)
    shown = chart(page, "chart-uploads")
    assert shown["days"][0] == d(29).isoformat()
    assert shown["days"][-1] == d(0).isoformat()
    uploads = series(page, "chart-uploads")["Uploads"]
    assert sum(uploads) == 3
    assert uploads[29 - 20] == uploads[29 - 10] == uploads[29] == 1
    activity = series(page, "chart-activity")
    assert sum(activity["Views"]) == 4
    assert sum(activity["Downloads"]) == 2
    growth = series(page, "chart-storage")["Storage used"]
    assert growth[0] == 0
    assert growth[29 - 20] == history.sizes[history.a]
    assert growth[-1] == sum(history.sizes.values())
    types = {item["name"]: item["value"] for item in series(page, "chart-file-types")["File types"]}
    assert types == {"PNG": 2, "DICOM": 1}

    png = page.locator('[data-testid="file-type-row"][data-file-type="png"]')
    expect(png).to_have_text("PNG")
    viewed = page.get_by_test_id("most-viewed-row")
    expect(viewed).to_have_count(3)
    expect(viewed.nth(0)).to_have_attribute("data-image-id", str(history.a))
    expect(viewed.nth(0).get_by_test_id("most-viewed-views")).to_have_text("2")
    expect(viewed.nth(0)).to_contain_text("4.0 s")  # (2 s + 6 s) / 2
    expect(viewed.nth(1)).to_contain_text("CT_small.dcm")
    expect(viewed.nth(1)).to_contain_text("8.0 s")
    for thumbnail in viewed.get_by_test_id("most-viewed-thumbnail").locator("img").all():
        expect(thumbnail).to_have_js_property("complete", True)
        assert thumbnail.evaluate("img => img.naturalWidth") > 0
    feed = page.get_by_test_id("activity-row")
    expect(feed).to_have_count(20)
    expect(feed.filter(has_text="intruder@example.org")).to_have_count(8)
    still(page, shot, "40-analytics-30-days")
    page.get_by_test_id("activity-more").click()
    expect(feed.last).to_contain_text("mo@example.org")  # signing in on D-40, the oldest
    expect(feed.last).to_have_attribute("data-activity", "login")
    expect(page.get_by_test_id("activity-more")).to_be_hidden()

    # -- switch ranges in place: no navigation, same page -----------------------------------
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    page.evaluate("window.sameDocument = true")
    pick(page, "7 days")
    wait_for_days(page, 7)
    expect(root).to_have_attribute("data-days", "7")
    expect(new).to_have_text("1 new in the last 7 days")
    expect(views).to_have_text("2")
    assert series(page, "chart-uploads")["Uploads"] == [0, 0, 0, 0, 0, 0, 1]
    assert series(page, "chart-activity")["Views"] == [0, 0, 0, 1, 0, 0, 1]
    still(page, shot, "41-analytics-7-days")

    pick(page, "30 days")
    wait_for_days(page, 30)
    expect(views).to_have_text("4")

    pick(page, "Custom")
    expect(page.get_by_test_id("range-from")).to_have_value(d(29).isoformat())
    page.get_by_test_id("range-from").fill(d(25).isoformat())
    wait_for_days(page, 26)
    page.get_by_test_id("range-to").fill(d(5).isoformat())
    wait_for_days(page, 21)
    expect(root).to_have_attribute("data-last", d(5).isoformat())
    expect(images).to_have_text("2")
    expect(new).to_have_text("2 new on these days")
    expect(active).to_have_text("2 active on the busiest day")  # D-10: ada and mo
    expect(views).to_have_text("2")
    expect(card(page, "card-storage")[0]).to_have_text(
        human_size(history.sizes[history.a] + history.sizes[history.b])
    )
    assert sum(series(page, "chart-uploads")["Uploads"]) == 2
    types = {item["name"]: item["value"] for item in series(page, "chart-file-types")["File types"]}
    assert types == {"PNG": 2}
    still(page, shot, "42-analytics-custom-range")

    # A range that ends before it starts: the service's refusal, shown by the selector.
    page.get_by_test_id("range-from").fill(d(2).isoformat())
    expect(page.get_by_test_id("range-error")).to_contain_text("after")
    expect(root).to_have_attribute("data-first", d(25).isoformat())
    still(page, shot, "43-analytics-range-refused")
    page.get_by_test_id("range-from").fill(d(25).isoformat())
    expect(page.get_by_test_id("range-error")).to_be_hidden()
    assert page.evaluate("window.sameDocument") is True
    assert navigations == []

    # -- CSV: the same file as the API's ----------------------------------------------------
    page.get_by_test_id("csv-menu").click()
    with page.expect_download() as stats_download:
        page.get_by_test_id("csv-stats").click()
    stats = stats_download.value
    assert stats.suggested_filename == f"system-stats-{d(25)}-to-{d(5)}.csv"
    content = Path(stats.path()).read_text()
    assert content.splitlines()[0] == ",".join(STATS_COLUMNS)
    assert len(content.splitlines()) == 1 + 21
    api = httpx.get(
        f"{hub.url}/api/analytics/system/stats",
        params={"startDate": d(25).isoformat(), "endDate": d(5).isoformat(), "format": "csv"},
        headers=history.admin_auth,
    )
    assert api.status_code == 200, api.text
    assert content == api.text

    page.get_by_test_id("csv-menu").click()
    with page.expect_download() as trends_download:
        page.get_by_test_id("csv-trends").click()
    assert trends_download.value.suggested_filename == f"upload-trends-{d(25)}-to-{d(5)}.csv"
    trends = Path(trends_download.value.path()).read_text().splitlines()
    assert trends[0] == ",".join(TREND_COLUMNS)
    assert trends[1 + 25 - 20] == f"{d(20)},1,{history.sizes[history.a]}"

    page.get_by_test_id("csv-menu").click()
    with page.expect_download() as activity_download:
        page.get_by_test_id("csv-activity").click()
    lines = Path(activity_download.value.path()).read_text().splitlines()
    assert lines[0] == ",".join(ACTIVITY_COLUMNS)
    assert len(lines) > 10
    assert any(",view," in line for line in lines)

    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.get_by_test_id("range-toggle")).to_be_hidden()  # a list instead, on a phone
    page.get_by_test_id("range-select").click()
    page.get_by_role("option", name="Last 30 days").click()
    wait_for_days(page, 30)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    still(page, shot, "44-analytics-phone")


def test_non_admin_is_refused_the_dashboard_and_sees_their_own_activity(
    page: Page, shot: Shot, history: History
) -> None:
    page.goto("/gallery")
    sign_in(page, MO_EMAIL, MO_PASSWORD)
    expect(page).to_have_url(path_is("/gallery"))
    expect(page.get_by_test_id("nav-analytics")).to_have_count(0)
    response = page.goto("/analytics")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_test_id("admin-refused")).to_be_visible()
    expect(page.get_by_test_id("chart-uploads")).to_have_count(0)
    shot(page, "45-analytics-refused")

    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("menu-my-activity").click()
    expect(page).to_have_url(path_is("/me/activity"))
    root = page.get_by_test_id("my-activity-page")
    expect(root).to_have_attribute("data-days", "30")
    images, uploaded = card(page, "card-my-images")
    expect(images).to_have_text("3")
    expect(uploaded).to_have_text("3 uploads in the last 30 days")
    expect(card(page, "card-my-storage")[0]).to_have_text(human_size(sum(history.sizes.values())))
    expect(card(page, "card-my-views")[0]).to_have_text("4")  # a ×2, b, CT: anyone's views

    def total(kind: str) -> Locator:
        return page.locator(f'[data-testid="my-total"][data-activity="{kind}"]')

    expect(total("upload")).to_have_text("3")
    expect(total("view")).to_have_text("3")  # mo's own: D-20, D-3, today
    expect(total("download")).to_have_text("1")
    page.wait_for_function(CHART_HAS_DAYS_JS, arg=["chart-my-activity", 30])
    mine = series(page, "chart-my-activity")
    assert sum(mine["Uploads"]) == 3
    assert sum(mine["Views"]) == 3
    still(page, shot, "46-my-activity-30-days")

    page.evaluate("window.sameDocument = true")
    pick(page, "7 days")
    page.wait_for_function(CHART_HAS_DAYS_JS, arg=["chart-my-activity", 7])
    expect(root).to_have_attribute("data-days", "7")
    expect(total("upload")).to_have_text("1")
    expect(total("view")).to_have_text("2")
    expect(card(page, "card-my-views")[0]).to_have_text("2")  # b on D-3, CT today
    assert series(page, "chart-my-activity")["Views"] == [0, 0, 0, 1, 0, 0, 1]
    assert page.evaluate("window.sameDocument") is True
    still(page, shot, "47-my-activity-7-days")
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.get_by_test_id("range-select")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    still(page, shot, "48-my-activity-phone")
