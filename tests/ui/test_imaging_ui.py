"""The imaging pages in a real browser against a real server with its embedded workers:
upload in the gallery, watch conversion finish, view with window presets, zoom and frames,
filter and scroll the gallery, delete, and watch and retry jobs as an administrator."""

import hashlib
import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.ui import files
from tests.ui.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Hub, Shot, path_is, sign_in
from tests.ui.imaging import (
    CONVERSION_MS,
    PASSWORD,
    card,
    create,
    fetch,
    image_id_of,
    upload,
    upload_row,
)
from vesalius.accounts.models import Role
from vesalius.accounts.service import UserService
from vesalius.context import AppContext
from vesalius.imaging.models import FileType, Image, ImageStatus
from vesalius.jobs.models import Job, JobStatus
from vesalius.jobs.service import JobService

pytestmark = pytest.mark.browser


def test_upload_convert_view_and_change_the_window(
    page: Page, shot: Shot, seed: AppContext
) -> None:
    email = create(seed, "cleo@example.org")
    page.goto("/gallery")
    sign_in(page, email, PASSWORD)
    expect(page.get_by_test_id("gallery-empty")).to_be_visible()
    shot(page, "20-gallery-empty")

    ct = files.ct_small()
    upload(
        page,
        ("CT_small.dcm", "application/dicom", ct),
        ("scan.png", "image/png", files.png()),
        ("fake.png", "image/png", files.not_a_png()),
    )
    refused = upload_row(page, "fake.png")
    expect(refused).to_have_attribute("data-status", "refused")
    expect(refused.get_by_test_id("upload-file-message")).to_contain_text("PNG")
    for accepted in ("CT_small.dcm", "scan.png"):
        expect(upload_row(page, accepted)).to_have_attribute("data-status", "accepted")
        expect(upload_row(page, accepted).get_by_test_id("upload-file-message")).to_have_text(
            "Uploaded"
        )
    cards = page.get_by_test_id("image-card")
    expect(cards).to_have_count(2)  # at once, before any conversion finished
    expect(card(page, "fake.png")).to_have_count(0)
    shot(page, "21-gallery-uploaded")

    for name in ("CT_small.dcm", "scan.png"):
        expect(card(page, name)).to_have_attribute("data-status", "ready", timeout=CONVERSION_MS)
        expect(card(page, name).get_by_test_id("image-status")).to_have_text("Ready")
        thumbnail = card(page, name).get_by_test_id("image-thumbnail").locator("img")
        expect(thumbnail).to_have_js_property("complete", True)
        assert thumbnail.evaluate("img => img.naturalWidth") > 0
    expect(card(page, "CT_small.dcm").get_by_test_id("image-subtitle")).to_have_text(
        "CT · CompressedSamples CT1"
    )
    shot(page, "22-gallery-ready")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "22b-gallery-phone")
    page.set_viewport_size({"width": 1280, "height": 800})

    ct_card = card(page, "CT_small.dcm")
    ct_id = image_id_of(ct_card)
    ct_card.click()
    expect(page).to_have_url(path_is(f"/images/{ct_id}"))
    picture = page.get_by_test_id("viewer-image")
    expect(picture).to_have_attribute("data-loaded", "true")
    default_src = picture.get_attribute("src")
    assert default_src is not None and "windowCenter" not in default_src
    expect(page.get_by_test_id("preset-default")).to_have_attribute("data-active", "true")
    metadata = page.get_by_test_id("image-metadata")
    expect(metadata.locator('[data-field="Modality"]')).to_contain_text("CT")
    expect(metadata.locator('[data-field="Transfer syntax"]')).to_contain_text("Little Endian")
    expect(metadata.locator('[data-field="Size"]')).to_contain_text("128 × 128")
    shot(page, "23-viewer-default")

    page.get_by_test_id("preset-lung").click()
    expect(page.get_by_test_id("preset-lung")).to_have_attribute("data-active", "true")
    expect(picture).to_have_attribute("src", re.compile(r"windowCenter=-600&windowWidth=1500"))
    expect(picture).to_have_attribute("data-loaded", "true")
    expect(page.get_by_test_id("window-readout")).to_have_text("C -600 / W 1500")
    lung_src = picture.get_attribute("src")
    assert lung_src is not None
    assert fetch(page, lung_src) != fetch(page, default_src)  # the picture really changed
    shot(page, "24-viewer-lung-preset")

    page.get_by_test_id("preset-bone").click()
    expect(picture).to_have_attribute("src", re.compile(r"windowCenter=400&windowWidth=1800"))
    expect(picture).to_have_attribute("data-loaded", "true")

    # Zoom around the pointer with the wheel, then back with the reset button.
    stage = page.get_by_test_id("viewer-stage")
    stage.hover()
    page.mouse.wheel(0, -600)
    expect(page.get_by_test_id("viewer-zoom")).not_to_have_text("100%")
    box = stage.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 120, box["y"] + box["height"] / 2 + 40)
    page.mouse.up()
    assert "translate(120px, 40px)" in (picture.get_attribute("style") or "").replace(".0px", "px")
    shot(page, "25-viewer-zoomed")
    page.get_by_test_id("viewer-reset").click()
    expect(page.get_by_test_id("viewer-zoom")).to_have_text("100%")

    download = page.get_by_test_id("viewer-download").get_attribute("href")
    assert download is not None
    answer = page.request.get(download)
    assert answer.status == 200 and answer.body() == ct
    assert "CT_small.dcm" in answer.headers["content-disposition"]

    page.set_viewport_size({"width": 390, "height": 844})  # a phone: the panels go below
    expect(picture).to_be_visible()
    shot(page, "25b-viewer-phone")
    page.set_viewport_size({"width": 1280, "height": 800})

    # An ordinary image has no window to set.
    page.get_by_test_id("viewer-back").click()
    card(page, "scan.png").click()
    expect(page.get_by_test_id("viewer-image")).to_have_attribute("data-loaded", "true")
    expect(page.get_by_test_id("preset-default")).to_have_count(0)
    shot(page, "26-viewer-png")


def test_viewer_follows_a_conversion_in_progress(page: Page, shot: Shot, seed: AppContext) -> None:
    """An image stored and recorded but not yet converted (its job is sent only later), so
    the processing state is on screen for as long as the test needs."""
    email = create(seed, "pia@example.org")
    content = files.png(seed=9)
    with seed.db.session() as session:
        owner = UserService(seed, session).get_by_email(email)
        key = f"originals/ui-test/{uuid.uuid4().hex}"
        seed.blobs.put(key, content, "image/png")
        image = Image(
            user_id=owner.id,
            original_name="slow.png",
            file_type=FileType.png,
            content_type="image/png",
            size_bytes=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            storage_key=key,
            status=ImageStatus.processing,
        )
        session.add(image)
        session.commit()
        image_id = image.id

    page.goto("/gallery")
    sign_in(page, email, PASSWORD)
    slow = card(page, "slow.png")
    expect(slow.get_by_test_id("image-status")).to_have_text("Processing 0%")
    slow.click()
    expect(page.get_by_test_id("viewer-waiting")).to_contain_text("Converting")
    expect(page.get_by_test_id("viewer-status")).to_have_text("Processing")
    shot(page, "27a-viewer-processing")
    page.evaluate("window.vesaliusTestMarker = 'same page'")

    with seed.db.session() as session:
        JobService(seed, session).create(
            "convert_image",
            input={"imageId": image_id},
            resource=("image", image_id),
            owner_id=owner.id,
        )
        session.commit()  # the job is sent to the server's workers now
    expect(page.get_by_test_id("viewer-status")).to_have_text("Ready", timeout=CONVERSION_MS)
    expect(page.get_by_test_id("viewer-image")).to_have_attribute("data-loaded", "true")
    assert page.evaluate("window.vesaliusTestMarker") == "same page"  # no reload
    shot(page, "27b-viewer-turned-ready")


def test_mammogram_preset_and_frames(page: Page, shot: Shot, seed: AppContext) -> None:
    email = create(seed, "mona@example.org", Role.radiologist)
    page.goto("/gallery")
    sign_in(page, email, PASSWORD)
    upload(
        page,
        ("mammo-lcc.dcm", "application/dicom", files.mammogram()),
        ("clip.dcm", "application/dicom", files.multiframe(frames=6)),
    )
    for name in ("mammo-lcc.dcm", "clip.dcm"):
        expect(card(page, name)).to_have_attribute("data-status", "ready", timeout=CONVERSION_MS)

    card(page, "mammo-lcc.dcm").click()
    picture = page.get_by_test_id("viewer-image")
    expect(picture).to_have_attribute("data-loaded", "true")
    expect(page.get_by_test_id("window-readout")).to_contain_text("C 2600 / W 1400")
    metadata = page.get_by_test_id("image-metadata")
    expect(metadata.locator('[data-field="View"]')).to_contain_text("CC")
    expect(metadata.locator('[data-field="Laterality"]')).to_contain_text("L")
    page.get_by_test_id("preset-mammography").click()
    expect(picture).to_have_attribute("src", re.compile(r"windowCenter=2048&windowWidth=4096"))
    expect(picture).to_have_attribute("data-loaded", "true")
    shot(page, "27-viewer-mammography-preset")

    page.goto("/gallery")
    card(page, "clip.dcm").click()
    expect(picture).to_have_attribute("data-loaded", "true")
    expect(page.get_by_test_id("frame-label")).to_have_text("Frame 1 of 6")
    first = picture.get_attribute("src")
    assert first is not None and "frame=" not in first
    track = page.get_by_test_id("frame-slider").bounding_box()
    assert track is not None
    page.mouse.click(track["x"] + track["width"] * 0.6, track["y"] + track["height"] / 2)
    expect(page.get_by_test_id("frame-label")).to_have_text("Frame 4 of 6")
    expect(picture).to_have_attribute("src", re.compile(r"frame=3"))
    expect(picture).to_have_attribute("data-loaded", "true")
    fourth = picture.get_attribute("src")
    assert fourth is not None
    assert fetch(page, fourth) != fetch(page, first)
    shot(page, "28-viewer-frame-4")


def test_gallery_filters_and_infinite_scroll(
    page: Page, shot: Shot, hub: Hub, seed: AppContext
) -> None:
    email = create(seed, "ines@example.org", Role.researcher)
    tokens = httpx.post(f"{hub.url}/api/auth/login", json={"email": email, "password": PASSWORD})
    access = tokens.json()["accessToken"]
    pngs = [
        ("files", (f"cells-{n:02}.png", files.png(64, 48, seed=n), "image/png")) for n in range(30)
    ]
    pngs.append(("files", ("CT_small.dcm", files.ct_small(), "application/dicom")))
    answer = httpx.post(
        f"{hub.url}/api/upload",
        files=pngs,
        headers={"Authorization": f"Bearer {access}"},
        timeout=60,
    )
    assert answer.status_code == 202, answer.text

    page.goto("/gallery")
    sign_in(page, email, PASSWORD)
    cards = page.get_by_test_id("image-card")
    expect(cards).to_have_count(24)  # one page; the rest waits below the fold
    expect(page.get_by_test_id("gallery-summary")).to_contain_text("scroll for more")
    page.get_by_test_id("gallery-more").scroll_into_view_if_needed()
    expect(cards).to_have_count(31)
    ids = [card.get_attribute("data-image-id") for card in cards.all()]
    assert len(set(ids)) == 31
    expect(page.get_by_test_id("gallery-more")).to_have_count(0)
    expect(cards.first).to_have_attribute("data-name", "CT_small.dcm")  # newest first
    expect(page.locator('[data-testid="image-card"][data-status="ready"]')).to_have_count(
        31, timeout=CONVERSION_MS
    )
    shot(page, "29-gallery-scrolled")

    page.get_by_test_id("filter-file-type").click()
    page.get_by_role("option", name="DICOM").click()
    expect(cards).to_have_count(1)
    expect(cards.first).to_have_attribute("data-name", "CT_small.dcm")
    page.get_by_test_id("filter-clear").click()
    expect(cards).to_have_count(24)

    page.get_by_test_id("filter-search").fill("compressedsamples")  # the patient's name
    expect(cards).to_have_count(1)
    page.get_by_test_id("filter-search").fill("cells-2")
    expect(cards).to_have_count(10)
    page.get_by_test_id("filter-search").fill("")

    page.get_by_test_id("filter-modality").click()
    page.get_by_role("option", name="CT", exact=True).click()
    expect(cards).to_have_count(1)
    page.get_by_test_id("filter-clear").click()

    page.get_by_test_id("filter-status").click()
    page.get_by_role("option", name="Failed").click()
    expect(page.get_by_test_id("gallery-empty")).to_be_visible()
    expect(cards).to_have_count(0)
    page.get_by_test_id("filter-clear").click()

    page.get_by_test_id("filter-to").fill("2001-01-01")
    expect(page.get_by_test_id("gallery-empty")).to_be_visible()
    page.get_by_test_id("filter-from").fill("2001-01-02")
    expect(page.get_by_test_id("filter-error")).to_contain_text("after")
    shot(page, "30-gallery-filters")
    page.get_by_test_id("filter-clear").click()
    expect(cards).to_have_count(24)


def test_failed_conversion_retry_in_the_queue_monitor_and_refusals(
    page: Page, shot: Shot, seed: AppContext
) -> None:
    email = create(seed, "theo@example.org")
    page.goto("/gallery")
    sign_in(page, email, PASSWORD)
    upload(
        page,
        ("broken.dcm", "application/dicom", files.unconvertible_dicom()),
        ("fine.png", "image/png", files.png(seed=5)),
    )
    expect(card(page, "fine.png")).to_have_attribute("data-status", "ready", timeout=CONVERSION_MS)
    broken = card(page, "broken.dcm")
    expect(broken).to_have_attribute("data-status", "failed", timeout=CONVERSION_MS)
    badge = broken.get_by_test_id("image-status")
    expect(badge).to_have_text("Failed")
    badge.hover()
    expect(page.get_by_test_id("image-failure-reason")).to_be_visible()
    shot(page, "31-gallery-failed-reason")
    broken_id = image_id_of(broken)

    broken.click()
    expect(page.get_by_test_id("viewer-failure")).to_be_visible()
    shot(page, "32-viewer-failed")

    response = page.goto("/admin/queue")
    assert response is not None and response.status == 403
    expect(page.get_by_test_id("admin-refused")).to_be_visible()
    expect(page.get_by_test_id("queue-card")).to_have_count(0)
    shot(page, "33-queue-refused")

    page.context.clear_cookies()
    page.goto("/admin/queue")
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    expect(page).to_have_url(path_is("/admin/queue"))
    dicom = page.locator('[data-testid="queue-card"][data-queue="dicom"]')
    expect(dicom.get_by_test_id("queue-failed")).not_to_have_text("0")
    expect(dicom.get_by_test_id("queue-workers")).to_have_text("3")
    thumbs = page.locator('[data-testid="queue-card"][data-queue="thumbnails"]')
    expect(thumbs.get_by_test_id("queue-completed")).not_to_have_text("0")
    failed_row = (
        page.get_by_test_id("queue-failed")
        .get_by_test_id("job-row")
        .filter(has=page.locator(f'a[href="/images/{broken_id}"]'))
    )
    expect(failed_row).to_have_count(1)
    expect(failed_row.get_by_test_id("job-error")).not_to_be_empty()
    shot(page, "34-queue-monitor")

    job_id = failed_row.get_attribute("data-job-id")
    first_failure = failed_row.get_attribute("data-finished-at")
    assert first_failure is not None
    failed_row.get_by_test_id("job-retry").click()
    expect(page.get_by_test_id("notice")).to_contain_text(f"Job #{job_id} is queued again")
    # It runs again, fails again (the file is still broken) and is back in the failed table.
    again = page.get_by_test_id("queue-failed").locator(f'[data-job-id="{job_id}"]')
    expect(again).to_have_attribute("data-finished-at", re.compile("."), timeout=CONVERSION_MS)
    expect(again).not_to_have_attribute("data-finished-at", first_failure, timeout=CONVERSION_MS)

    # Jobs that are running or waiting: job rows written as a worker would leave them (the
    # running one has a fresh heartbeat; the waiting one is not due for an hour).
    running_id, waiting_id = _stalled_jobs(seed)
    running = page.get_by_test_id("queue-running").locator(f'[data-job-id="{running_id}"]')
    expect(running.get_by_test_id("job-progress")).to_have_attribute("aria-valuenow", "0.4")
    expect(running).to_contain_text("40%")
    expect(running).to_contain_text("decoding")
    waiting = page.get_by_test_id("queue-waiting").locator(f'[data-job-id="{waiting_id}"]')
    expect(waiting).to_be_visible()
    shot(page, "34b-queue-running-and-waiting")
    waiting.get_by_test_id("job-cancel").click()
    expect(
        page.get_by_test_id("notice").filter(has_text=f"Job #{waiting_id} was cancelled")
    ).to_be_visible()
    expect(waiting).to_have_count(0)
    running.get_by_test_id("job-cancel").click()
    expect(running).to_have_count(0)


def _stalled_jobs(ctx: AppContext) -> tuple[int, int]:
    now = datetime.now(UTC)
    with ctx.db.session() as session:
        running = Job(
            queue="dicom",
            type="convert_dicom",
            status=JobStatus.running,
            progress=40,
            message="decoding",
            input={"imageId": 0},
            worker="test-worker-1",
            started_at=now,
            heartbeat_at=now,
        )
        # Queued to run in an hour: the jobs table is the queue, so a job due now would be
        # claimed by an idle worker's periodic re-check before the page could show it.
        waiting = Job(
            queue="thumbnails",
            type="convert_image",
            input={"imageId": 0},
            run_after=now + timedelta(hours=1),
        )
        session.add_all([running, waiting])
        session.commit()
        return running.id, waiting.id


def test_another_users_image_is_not_found_and_delete_asks_first(
    page: Page, shot: Shot, seed: AppContext
) -> None:
    owner = create(seed, "otto@example.org")
    stranger = create(seed, "sara@example.org")
    page.goto("/gallery")
    sign_in(page, owner, PASSWORD)
    upload(page, ("mine.png", "image/png", files.png(seed=3)))
    mine = card(page, "mine.png")
    expect(mine).to_have_attribute("data-status", "ready", timeout=CONVERSION_MS)
    image_id = image_id_of(mine)

    page.context.clear_cookies()
    page.goto("/gallery")
    sign_in(page, stranger, PASSWORD)
    expect(page.get_by_test_id("gallery-empty")).to_be_visible()
    response = page.goto(f"/images/{image_id}")
    assert response is not None and response.status == 404
    expect(page.get_by_test_id("image-not-found")).to_be_visible()
    expect(page.get_by_test_id("viewer-image")).to_have_count(0)
    shot(page, "35-viewer-not-found")

    page.context.clear_cookies()
    page.goto(f"/images/{image_id}")
    sign_in(page, owner, PASSWORD)
    expect(page).to_have_url(path_is(f"/images/{image_id}"))
    page.get_by_test_id("viewer-delete").click()
    expect(page.get_by_test_id("confirm-dialog")).to_contain_text("mine.png")
    shot(page, "36-viewer-confirm-delete")
    page.get_by_test_id("confirm-cancel").click()
    expect(page.get_by_test_id("viewer-image")).to_be_visible()
    page.get_by_test_id("viewer-delete").click()
    page.get_by_test_id("confirm-ok").click()
    expect(page).to_have_url(path_is("/gallery"))
    expect(page.get_by_test_id("gallery-empty")).to_be_visible()
    response = page.goto(f"/images/{image_id}")
    assert response is not None and response.status == 404
