"""The study browser in a real browser against a real server: studies uploaded in the
gallery are listed, searched and filtered; a study shows its series with thumbnails that
open the image viewer; another clinician sees none of it."""

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from tests.studies.data import make_study
from tests.ui.conftest import Shot, path_is, sign_in
from tests.ui.imaging import CONVERSION_MS, PASSWORD, create, upload
from vesalius.context import AppContext

pytestmark = pytest.mark.browser


def rows(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_test_id("study-row")


def row(page: Page, uid: str):  # type: ignore[no-untyped-def]
    return page.locator(f'[data-testid="study-row"][data-uid="{uid}"]')


def test_browse_search_and_open_a_study(page: Page, shot: Shot, seed: AppContext) -> None:
    email = create(seed, "stella@example.org")
    jane = make_study(patient_name="Doe^Jane", size=96, per_series=(3, 2))
    john = make_study(
        patient_id="PAT-002",
        patient_name="Smith^John",
        accession="ACC-2002",
        description="MR brain",
        study_date=dt.date(2023, 6, 1),
        modalities=("MR", "MR"),
        per_series=(1, 1),
        size=96,
    )
    page.goto("/gallery")
    sign_in(page, email, PASSWORD)
    upload(page, *[(n, "application/dicom", d) for n, d in jane.files + john.files])
    expect(page.get_by_test_id("image-card")).to_have_count(7)

    page.get_by_test_id("nav-studies").click()
    expect(page).to_have_url(path_is("/studies"))
    expect(rows(page)).to_have_count(2)
    expect(row(page, john.study_uid)).to_contain_text("Smith John")
    expect(row(page, john.study_uid)).to_contain_text("MR brain")
    expect(row(page, jane.study_uid)).to_contain_text("CT, PT")
    expect(page.get_by_test_id("studies-summary")).to_have_text("2 of 2 studies")
    shot(page, "60-studies-list")

    page.get_by_test_id("studies-patient").fill("doe")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_have_attribute("data-uid", jane.study_uid)
    page.get_by_test_id("studies-patient").fill("")
    expect(rows(page)).to_have_count(2)
    page.get_by_test_id("studies-from").fill("2024-01-01")
    expect(rows(page)).to_have_count(1)
    page.get_by_test_id("studies-from").fill("")
    page.get_by_test_id("studies-accession").fill("2002")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_have_attribute("data-uid", john.study_uid)
    page.get_by_test_id("studies-accession").fill("nothing-like-it")
    expect(page.get_by_test_id("studies-empty")).to_have_text("No studies match these filters.")
    page.get_by_test_id("studies-accession").fill("")
    expect(rows(page)).to_have_count(2)

    row(page, jane.study_uid).get_by_text("Doe Jane").click()
    expect(page).to_have_url(path_is(f"/studies/{jane.study_uid}"))
    expect(page.get_by_test_id("study-patient")).to_have_text("Doe Jane")
    cards = page.get_by_test_id("series-card")
    expect(cards).to_have_count(2)
    expect(cards.first.get_by_test_id("series-title")).to_have_text("1 · CT series 1")
    expect(cards.first.get_by_test_id("series-count")).to_have_text("3 images")
    expect(cards.first.get_by_test_id("instance-link")).to_have_count(3)

    # Thumbnails appear once the conversions are done: reload until they load.
    thumbnail = cards.first.get_by_test_id("series-thumbnail")
    for _ in range(CONVERSION_MS // 1000):
        if thumbnail.evaluate("img => img.complete && img.naturalWidth > 0"):
            break
        page.wait_for_timeout(1000)
        page.reload()
    assert thumbnail.evaluate("img => img.naturalWidth") > 0
    shot(page, "61-study-page")

    cards.nth(1).get_by_test_id("instance-link").nth(1).click()
    expect(page).to_have_url(re.compile(r"/images/\d+$"))
    expect(page.get_by_test_id("viewer-stage")).to_be_visible()


def test_another_clinician_sees_no_study_of_someone_else(page: Page, seed: AppContext) -> None:
    email = create(seed, "otto@example.org")
    page.goto("/studies")
    sign_in(page, email, PASSWORD)
    expect(page.get_by_test_id("studies-empty")).to_contain_text("No studies yet")
    page.goto("/studies/1.2.3.4.5")
    expect(page.get_by_test_id("study-not-found")).to_be_visible()
