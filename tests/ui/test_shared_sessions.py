"""Scaled mode: with Redis configured, API machines share UI sign-ins, so a load balancer
may send each request of a browser to a different machine."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from redis import Redis

from tests.services import RedisServer
from tests.ui.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    hub_env,
    install_hub,
    path_is,
    serving,
    sign_in,
    sign_out,
    user_row,
    watched_tab,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def two_machines(
    tmp_path_factory: pytest.TempPathFactory, redis: RedisServer
) -> Iterator[tuple[str, str, Path]]:
    base = tmp_path_factory.mktemp("ui-scaled")
    env = hub_env(base / "data", VESALIUS_REDIS_URL=redis.url)
    install_hub(base, env)
    with serving(base, env, "machine-a") as first, serving(base, env, "machine-b") as second:
        yield first, second, base / "data"


def test_a_sign_in_on_one_machine_holds_on_the_other(
    browser: Browser, two_machines: tuple[str, str, Path], redis: RedisServer
) -> None:
    first, second, data_dir = two_machines
    with watched_tab(browser, first) as tab:
        tab.goto(f"{first}/login")
        sign_in(tab, ADMIN_EMAIL, ADMIN_PASSWORD)
        expect(tab).to_have_url(path_is("/gallery"))

        # Cookies are per host, not per port: the second machine gets the same session id.
        tab.goto(f"{second}/admin/users")
        expect(tab).to_have_url(path_is("/admin/users"))
        expect(user_row(tab, ADMIN_EMAIL)).to_be_visible()
        # ... through Redis, not through the data dir the two machines happen to share here.
        with Redis.from_url(redis.url) as client:
            assert client.keys("vesalius:ui:user-*")
        assert not list((data_dir / "ui").glob("storage-user-*"))

        sign_out(tab)
        tab.goto(f"{first}/gallery")
        expect(tab).to_have_url(path_is("/login"))
