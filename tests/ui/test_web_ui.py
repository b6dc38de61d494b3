"""The web UI in a real browser: sign-in, the app shell, two-factor enrolment, Admin → Users."""

import time

import httpx
import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.ui.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    Hub,
    Shot,
    path_is,
    sign_in,
    sign_out,
    user_row,
)
from vesalius.accounts.models import Role, UserStatus
from vesalius.accounts.service import UserService
from vesalius.context import AppContext

pytestmark = pytest.mark.browser

SEEDED_PASSWORD = "seeded-user-password-1"


def _create(
    ctx: AppContext,
    email: str,
    role: Role = Role.clinician,
    *,
    status: UserStatus = UserStatus.active,
    totp: bool = False,
) -> None:
    with ctx.db.session() as session:
        users = UserService(ctx, session)
        user, _ = users.create_user(
            None, email=email, role=role, password=SEEDED_PASSWORD, status=status
        )
        if totp:
            enrollment = users.start_totp_enrollment(user)
            users.confirm_totp(user, pyotp.TOTP(enrollment.secret).now())


def test_admin_creates_a_user_who_is_then_refused_the_admin_page(page: Page, shot: Shot) -> None:
    page.goto("/admin/users")
    expect(page).to_have_url(path_is("/login"))
    shot(page, "01-login")
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    expect(page).to_have_url(path_is("/admin/users"))  # back where the login interrupted
    expect(user_row(page, ADMIN_EMAIL)).to_be_visible()
    shot(page, "02-admin-users")

    page.get_by_test_id("new-user").click()
    page.get_by_test_id("new-user-email").fill("rita@example.org")
    page.get_by_test_id("new-user-name").fill("Rita Rad")
    shot(page, "03-create-user-dialog")
    page.get_by_test_id("new-user-submit").click()
    temporary = page.get_by_test_id("temporary-password")
    expect(temporary).to_be_visible()
    password = temporary.input_value()
    assert len(password) >= 12
    shot(page, "04-temporary-password")
    page.get_by_test_id("new-user-done").click()

    row = user_row(page, "rita@example.org")
    expect(row.get_by_test_id("user-role")).to_contain_text("Clinician")
    row.get_by_test_id("user-role").click()
    page.get_by_role("option", name="Radiologist").click()
    expect(page.get_by_test_id("notice")).to_contain_text("rita@example.org")
    page.reload()  # what the page shows now comes from the database
    expect(row.get_by_test_id("user-role")).to_contain_text("Radiologist")
    shot(page, "05-role-changed")
    sign_out(page)

    sign_in(page, "rita@example.org", password)
    expect(page).to_have_url(path_is("/gallery"))
    expect(page.get_by_test_id("gallery-empty")).to_be_visible()
    expect(page.get_by_test_id("nav-admin")).to_have_count(0)
    shot(page, "06-gallery")
    response = page.goto("/admin/users")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_test_id("admin-refused")).to_be_visible()
    expect(page.get_by_test_id("user-row")).to_have_count(0)
    shot(page, "07-admin-refused")


def test_wrong_password_is_explained_on_the_login_page(page: Page, shot: Shot) -> None:
    page.goto("/login")
    sign_in(page, ADMIN_EMAIL, "not-the-password")
    expect(page.get_by_test_id("login-error")).to_contain_text("wrong")
    expect(page).to_have_url(path_is("/login"))
    shot(page, "08-login-wrong-password")


def test_refusals_are_explained_on_the_login_page(
    page: Page, shot: Shot, hub: Hub, seed: AppContext
) -> None:
    _create(seed, "gone@example.org", status=UserStatus.disabled)
    page.goto("/login")
    sign_in(page, "gone@example.org", SEEDED_PASSWORD)
    expect(page.get_by_test_id("login-error")).to_contain_text("disabled")

    for _ in range(5):  # a password-guessing script, straight at the API
        response = httpx.post(
            f"{hub.url}/api/auth/login",
            json={"email": "target@example.org", "password": "guess"},
        )
        assert response.status_code == 401
    sign_in(page, "target@example.org", "one-more-guess")
    expect(page.get_by_test_id("login-error")).to_contain_text("Try again in")
    shot(page, "09-login-too-many-attempts")


def test_two_factor_enrolment_then_sign_in_asks_for_the_code(
    page: Page, shot: Shot, seed: AppContext
) -> None:
    _create(seed, "tess@example.org")
    page.goto("/")
    sign_in(page, "tess@example.org", SEEDED_PASSWORD)
    expect(page).to_have_url(path_is("/gallery"))
    page.get_by_test_id("user-menu").click()
    expect(page.get_by_test_id("two-factor-state")).to_have_text("Off")
    shot(page, "10-user-menu")
    page.get_by_test_id("menu-two-factor").click()
    secret = page.get_by_test_id("totp-secret").inner_text().strip()
    shot(page, "11-two-factor-enrolment")
    # A code is accepted once per 30-second step. Enrol with the previous step's code (still
    # valid for clock drift) so that signing in can use the current one without waiting.
    totp = pyotp.TOTP(secret)
    page.get_by_test_id("totp-code").fill(totp.at(time.time() - 30))
    page.get_by_test_id("totp-confirm").click()
    expect(page.get_by_test_id("totp-on")).to_be_visible()
    shot(page, "12-two-factor-on")
    page.keyboard.press("Escape")
    page.get_by_test_id("user-menu").click()
    expect(page.get_by_test_id("two-factor-state")).to_have_text("On")
    page.keyboard.press("Escape")
    sign_out(page)

    sign_in(page, "tess@example.org", SEEDED_PASSWORD)
    expect(page.get_by_test_id("login-code")).to_be_visible()
    shot(page, "13-login-code-step")
    page.get_by_test_id("login-code").fill("12345")
    page.get_by_test_id("login-verify").click()
    expect(page.get_by_test_id("login-error")).to_contain_text("code")
    page.get_by_test_id("login-code").fill(totp.now())
    page.get_by_test_id("login-code").press("Enter")
    expect(page).to_have_url(path_is("/gallery"))


def test_search_filters_and_load_more(page: Page, shot: Shot, seed: AppContext) -> None:
    for number in range(30):
        _create(seed, f"bulk-{number:02}@example.org", Role.researcher)
    page.goto("/admin/users")
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    rows = page.get_by_test_id("user-row")
    page.get_by_test_id("users-search").fill("bulk-")
    expect(rows).to_have_count(25)
    expect(page.get_by_test_id("users-load-more")).to_be_visible()
    page.get_by_test_id("users-load-more").click()
    expect(rows).to_have_count(30)
    expect(page.get_by_test_id("users-load-more")).to_be_hidden()
    expect(rows.first.get_by_test_id("user-email")).to_have_text("bulk-29@example.org")

    page.get_by_test_id("users-search").fill("")
    page.get_by_test_id("users-role-filter").click()
    page.get_by_role("option", name="Admin").click()
    expect(rows.filter(has_text="bulk-")).to_have_count(0)
    expect(rows.filter(has_text=ADMIN_EMAIL)).to_have_count(1)
    page.get_by_test_id("users-search").fill("no-such-person")
    expect(page.get_by_test_id("users-empty")).to_be_visible()
    shot(page, "14-admin-users-filtered")


def test_destructive_actions_confirm_and_service_errors_show(
    page: Page, shot: Shot, seed: AppContext
) -> None:
    _create(seed, "doomed@example.org")
    _create(seed, "lost-phone@example.org", totp=True)
    page.goto("/admin/users")
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)

    doomed = user_row(page, "doomed@example.org")
    doomed.get_by_test_id("user-delete").click()
    expect(page.get_by_test_id("confirm-dialog")).to_be_visible()
    shot(page, "15-confirm-delete")
    page.get_by_test_id("confirm-cancel").click()
    expect(doomed).to_have_count(1)
    doomed.get_by_test_id("user-delete").click()
    page.get_by_test_id("confirm-ok").click()
    expect(doomed).to_have_count(0)

    lost = user_row(page, "lost-phone@example.org")
    expect(lost.get_by_test_id("user-totp")).to_have_text("On")
    lost.get_by_test_id("user-reset-totp").click()
    page.get_by_test_id("confirm-ok").click()
    expect(lost.get_by_test_id("user-totp")).to_have_text("Off")

    page.get_by_test_id("users-search").fill(ADMIN_EMAIL)
    expect(page.get_by_test_id("user-row")).to_have_count(1)  # the search has redrawn the list
    me = user_row(page, ADMIN_EMAIL)
    me.get_by_test_id("user-delete").click()
    page.get_by_test_id("confirm-ok").click()
    expect(page.get_by_test_id("notice-error")).to_contain_text("own account")
    expect(me).to_have_count(1)
    shot(page, "16-service-error")
