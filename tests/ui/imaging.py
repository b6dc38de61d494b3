"""Helpers of the imaging browser tests: users, uploads through the gallery, cards."""

from playwright.sync_api import Locator, Page

from tests.ui import files
from vesalius.accounts.models import Role
from vesalius.accounts.service import UserService
from vesalius.context import AppContext

PASSWORD = "imaging-user-password-1"
# Conversion itself takes about a second; leave room for a slow, busy machine.
CONVERSION_MS = 45_000


def create(ctx: AppContext, email: str, role: Role = Role.clinician) -> str:
    with ctx.db.session() as session:
        UserService(ctx, session).create_user(None, email=email, role=role, password=PASSWORD)
    return email


def upload(page: Page, *items: files.Upload) -> None:
    """Drop files on the gallery's uploader (through its file input: same handlers)."""
    page.get_by_test_id("uploader").locator("input[type=file]").set_input_files(
        [{"name": name, "mimeType": mime, "buffer": content} for name, mime, content in items]
    )


def card(page: Page, name: str) -> Locator:
    return page.locator(f'[data-testid="image-card"][data-name="{name}"]')


def upload_row(page: Page, name: str) -> Locator:
    return page.locator(f'[data-testid="upload-file"][data-name="{name}"]')


def image_id_of(card: Locator) -> int:
    value = card.get_attribute("data-image-id")
    assert value is not None
    return int(value)


def fetch(page: Page, src: str) -> bytes:
    """What the browser's <img> got: fetched with the page's own cookies and origin."""
    response = page.request.get(src)
    assert response.status == 200, response.text()
    assert response.headers["content-type"] == "image/png"
    return response.body()
