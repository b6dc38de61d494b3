"""Browser tests start the real server the way a user would and drive Debian's Chromium.

One server per test module (``vesalius init``, ``vesalius users create``, ``vesalius
serve`` in a temporary data dir); each test gets a fresh browser context, so no test sees
another's sign-in. Screenshots go to ``$VESALIUS_TEST_ARTIFACTS/ui`` (default
``test-artifacts/ui`` in the repository).
"""

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Locator,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from tests.conftest import make_settings
from tests.services import free_port, missing_service, wait_for_port
from vesalius.context import AppContext, build_context

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("VESALIUS_TEST_ARTIFACTS", REPO / "test-artifacts")) / "ui"
ADMIN_EMAIL = "ada@example.org"
ADMIN_PASSWORD = "ada-admin-password-1"
# NiceGUI pages connect a websocket after loading; give slow CI machines some room.
EXPECT_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class Hub:
    url: str
    data_dir: Path

    def context(self) -> AppContext:
        """The server's own database and keys, for seeding data the UI then shows."""
        settings = make_settings(self.data_dir, f"sqlite:///{self.data_dir / 'vesalius.db'}")
        return build_context(settings)


BIN_DIR = Path(sys.executable).parent


def hub_env(data_dir: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "VESALIUS_DATA_DIR": str(data_dir),
        "VESALIUS_ARGON2_TIME_COST": "1",
        "VESALIUS_ARGON2_MEMORY_KIB": "8",
        "VESALIUS_LOG_FORMAT": "text",
        **extra,
    }


def vesalius(*args: str, env: dict[str, str], cwd: Path, stdin: str = "") -> None:
    """Run the CLI as an operator would; cwd keeps a developer's .env out of the test."""
    result = subprocess.run(
        [str(BIN_DIR / "vesalius"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        pytest.fail(f"vesalius {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


def install_hub(base: Path, env: dict[str, str]) -> None:
    """Migrate the database and create the administrator the tests sign in as."""
    vesalius("init", env=env, cwd=base)
    vesalius(
        *("users", "create", ADMIN_EMAIL, "--role", "admin", "--name", "Ada Admin"),
        "--password-stdin",
        env=env,
        cwd=base,
        stdin=ADMIN_PASSWORD + "\n",
    )


@contextmanager
def serving(base: Path, env: dict[str, str], name: str = "server") -> Iterator[str]:
    """``vesalius serve`` on a free port until the block ends; yields its URL."""
    port = free_port()
    log_path = base / f"{name}.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [str(BIN_DIR / "vesalius"), "serve"],
            env={**env, "VESALIUS_PORT": str(port)},
            cwd=base,
            stdout=log,
            stderr=log,
        )
    try:
        try:
            wait_for_port(port, timeout=60, proc=server)
        except (RuntimeError, TimeoutError) as exc:
            pytest.fail(f"vesalius serve did not start ({exc}):\n{log_path.read_text()}")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    base = tmp_path_factory.mktemp("ui-hub")
    env = hub_env(base / "data")
    install_hub(base, env)
    with serving(base, env) as url:
        yield Hub(url=url, data_dir=base / "data")


@pytest.fixture(scope="module")
def seed(hub: Hub) -> Iterator[AppContext]:
    """Write straight into the server's database, for states that are slow to click into."""
    ctx = hub.context()
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        missing_service("Chromium is not installed")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    chromium = playwright_driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@contextmanager
def watched_tab(browser: Browser, base_url: str) -> Iterator[Page]:
    """A tab in a fresh browser profile. Fails when the content-security policy blocked
    something, a script failed, or NiceGUI never got its websocket."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    tab = context.new_page()
    problems: list[str] = []
    sockets: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if re.search(r"Content.Security.Policy|Refused to", message.text):
            problems.append(f"console: {message.text}")

    tab.on("console", on_console)
    tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    tab.on("websocket", lambda socket: sockets.append(socket.url))
    yield tab
    context.close()
    assert not problems, "\n".join(problems)
    assert any("/_nicegui_ws/" in url for url in sockets), f"no NiceGUI websocket: {sockets}"


@pytest.fixture
def page(browser: Browser, hub: Hub) -> Iterator[Page]:
    with watched_tab(browser, hub.url) as tab:
        yield tab


Shot = Callable[[Page, str], None]


@pytest.fixture
def shot() -> Shot:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(tab: Page, name: str) -> None:
        # A full-page shot of a scrolled page draws the fixed header in mid-page.
        tab.evaluate("window.scrollTo(0, 0)")
        tab.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True, animations="disabled")

    return take


def sign_in(tab: Page, email: str, password: str) -> None:
    tab.get_by_test_id("login-email").fill(email)
    tab.get_by_test_id("login-password").fill(password)
    tab.get_by_test_id("login-submit").click()


def sign_out(tab: Page) -> None:
    tab.get_by_test_id("user-menu").click()
    tab.get_by_test_id("menu-sign-out").click()
    expect(tab.get_by_test_id("login-email")).to_be_visible()


def user_row(tab: Page, email: str) -> Locator:
    """The Admin → Users row of one user."""
    return tab.locator(f'[data-testid="user-row"][data-email="{email}"]')


def path_is(path: str) -> Any:
    """A URL pattern for ``expect(page).to_have_url``: this path, any query."""
    return re.compile(rf"^[^?]*//[^/]+{re.escape(path)}(\?.*)?$")
