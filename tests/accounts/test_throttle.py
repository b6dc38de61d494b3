"""Brute-force protection: per account and per address, growing delay, 429 + Retry-After."""

import itertools
import time
from collections.abc import Iterator

import pytest
import redis as redis_lib
from fastapi.testclient import TestClient

from tests.conftest import PASSWORD, MakeUser
from tests.services import RedisServer
from vesalius.common.counters import CounterStore, MemoryCounterStore, RedisCounterStore
from vesalius.context import AppContext


def _attempt(client: TestClient, email: str, password: str = "wrong-password") -> int:
    return client.post("/api/auth/login", json={"email": email, "password": password}).status_code


def test_account_is_throttled_after_repeated_failures(
    client: TestClient, make_user: MakeUser
) -> None:
    user = make_user()
    statuses = [_attempt(client, user.email) for _ in range(5)]
    assert statuses == [401] * 5
    blocked = client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    # Even the right password waits: otherwise the block would leak which guess was right.
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "too_many_attempts"
    retry_after = int(blocked.headers["Retry-After"])
    assert retry_after >= 1
    assert blocked.json()["error"]["details"]["retryAfter"] == retry_after
    # Other accounts are not affected by one account's block.
    other = make_user()
    assert _attempt(client, other.email, PASSWORD) == 200


def test_block_grows_with_each_further_failure(ctx: AppContext) -> None:
    throttle = ctx.login_throttle
    store = ctx.counters
    waits = []
    for _ in range(8):
        throttle.record_failure("victim@example.org", "10.0.0.1")
        waits.append(store.blocked_for("login:account:victim@example.org"))
    assert waits[:4] == [0, 0, 0, 0]
    growing = waits[4:]
    assert all(later > earlier for earlier, later in itertools.pairwise(growing))
    assert growing[-1] <= ctx.settings.login_lockout_max_seconds


def test_one_address_spraying_many_accounts_is_throttled(
    client: TestClient, make_user: MakeUser
) -> None:
    statuses = [_attempt(client, f"guess{i}@example.org") for i in range(30)]
    assert statuses[:29] == [401] * 29
    assert _attempt(client, "fresh@example.org") == 429


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[CounterStore]:
    if request.param == "memory":
        yield MemoryCounterStore()
        return
    server: RedisServer = request.getfixturevalue("redis")
    client = redis_lib.Redis.from_url(server.url)
    client.flushdb()
    yield RedisCounterStore(client)
    client.close()


def test_counter_stores_count_expire_and_block(store: CounterStore) -> None:
    assert [store.increment("k", 60) for _ in range(3)] == [1, 2, 3]
    store.reset("k")
    assert store.increment("k", 60) == 1
    assert store.blocked_for("k") == 0
    store.block("k", 30)
    assert 29 < store.blocked_for("k") <= 30
    store.reset("k")
    assert store.blocked_for("k") == 0
    # A tiny window expires: counting starts again.
    assert store.increment("short", 0.001) == 1
    deadline = time.monotonic() + 2
    while store.increment("short", 0.001) != 1:
        assert time.monotonic() < deadline
