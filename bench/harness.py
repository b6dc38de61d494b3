"""A real Vesalius for a bench: settings in a temporary data dir, a migrated SQLite or
PostgreSQL database, the ASGI app behind an in-process client, and a signed-in admin."""

import asyncio
import contextlib
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psycopg
from fastapi import FastAPI

from bench.common import SelfTimed, describe_machine, load_average
from tests.services import PostgresServer, find_binary, postgres_server
from vesalius.app import create_app
from vesalius.config import Settings
from vesalius.context import AppContext
from vesalius.migrations import upgrade
from vesalius.observability.logs import configure_logging

BENCH_PASSWORD = "bench-password-123"
T = TypeVar("T")

# A developer's own VESALIUS_* variables (a Redis URL, a cheaper argon2 …) must not change
# what a bench measures.
for _key in list(os.environ):
    if _key.startswith("VESALIUS_"):
        del os.environ[_key]


def quiet_logging() -> None:
    configure_logging("WARNING", "text")
    for name in ("alembic", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.WARNING)


def bench_settings(data_dir: Path, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "log_format": "text",
        "log_level": "WARNING",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def sqlite_url(folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'vesalius.db'}"


def postgres_available() -> bool:
    return find_binary("pg_ctl", "/usr/lib/postgresql/*/bin/pg_ctl") is not None


@contextlib.contextmanager
def postgres(base: Path) -> Iterator[PostgresServer]:
    """A PostgreSQL server in ``base``, stopped on the way out even when the bench fails."""
    with postgres_server(base) as server:
        yield server


def on_each_database(
    database: str, bench_one: Callable[[str, str, Path], T]
) -> tuple[list[T | None], str]:
    """``bench_one(name, url, data_dir)`` on a migrated SQLite database, then on PostgreSQL
    (``None`` in its place when it is not installed), all in a temporary directory removed
    afterwards. Returns the results and the machine's description for the report."""
    results: list[T | None] = []
    pg_version: str | None = None
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="vesalius-bench-") as tmp:
        base = Path(tmp)
        results.append(bench_one("SQLite", migrated(sqlite_url(base / "sqlite")), base / "d1"))
        if postgres_available():
            with postgres(base / "postgres") as server:
                pg_version = server_version(server)
                url = migrated(create_database(server, database))
                results.append(bench_one("PostgreSQL", url, base / "d2"))
        else:
            results.append(None)
        machine = describe_machine(base, load_before, pg_version).line()
    return results, machine


def _admin_connection(server: PostgresServer) -> psycopg.Connection[Any]:
    return psycopg.connect(
        user=server.user, host=server.host, port=server.port, dbname="postgres", autocommit=True
    )


def create_database(server: PostgresServer, name: str) -> str:
    conn = _admin_connection(server)
    try:
        conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()
    return server.url(name)


def server_version(server: PostgresServer) -> str:
    conn = _admin_connection(server)
    try:
        row = conn.execute("SHOW server_version").fetchone()
        return str(row[0] if row else "?")
    finally:
        conn.close()


def migrated(url: str) -> str:
    upgrade(url)
    return url


def _skip_sniffio_lookup() -> None:
    """httpx's ASGI transport tries ``import sniffio`` on every request; not installed, the
    failed import searches sys.path each time (~0.3 ms a request, harness not Vesalius). A
    ``None`` entry in sys.modules makes that import fail at once."""
    try:
        import sniffio  # noqa: F401
    except ImportError:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


class _Stopwatch:
    """ASGI wrapper: from the app being called to its last response byte being sent, which
    is when a real server (uvicorn) has put the whole answer on the wire. Clean-up the app
    does after that (closing the request's database session) is not waited for by a client,
    but is by httpx's ASGI transport, so timing around the client call would count it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last_ns = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        started = time.perf_counter_ns()

        async def timed_send(message: Any) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.last_ns = time.perf_counter_ns() - started

        await self.app(scope, receive, timed_send)


class InProcessClient:
    """Calls the ASGI app directly, on an event loop in this thread: what a request costs the
    app itself, with no socket and no test-harness thread hand-off.

    FastAPI's TestClient runs the app in another thread behind a blocking portal; on two cores
    that hand-off alone adds ~1.5 ms at p50 and ~3 ms at p95 to every request (measured with
    both clients in one run), which is harness, not Vesalius.
    """

    def __init__(self, app: FastAPI, asgi: Any = None) -> None:
        """``asgi``: what the requests go through when it is not ``app`` itself (a wrapper
        timing the app); ``app``'s lifespan runs either way."""
        _skip_sniffio_lookup()
        self._loop = asyncio.new_event_loop()
        self._stopwatch = _Stopwatch(asgi or app)
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self._stopwatch), base_url="http://bench"
        )
        self._lifespan = app.router.lifespan_context(app)
        self._loop.run_until_complete(self._lifespan.__aenter__())

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self._loop.run_until_complete(self._client.get(path, **kwargs))

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self._loop.run_until_complete(self._client.post(path, **kwargs))

    @property
    def last_response_ns(self) -> int:
        """Server-side time of the last request: app called → last response byte sent."""
        return self._stopwatch.last_ns

    def server_timed(self, call: Callable[[], object]) -> SelfTimed:
        """A bench case timed by the server side of the last request ``call`` makes."""

        def timed() -> int:
            call()
            return self.last_response_ns

        return SelfTimed(timed)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self._loop.run_until_complete(self._client.delete(path, **kwargs))

    def close(self) -> None:
        self._loop.run_until_complete(self._lifespan.__aexit__(None, None, None))
        self._loop.run_until_complete(self._client.aclose())
        self._loop.close()


@dataclass(frozen=True)
class Hub:
    client: InProcessClient
    ctx: AppContext


@contextlib.contextmanager
def running_hub(settings: Settings, wrap: Callable[[FastAPI], Any] | None = None) -> Iterator[Hub]:
    """The whole ASGI app (API, middlewares, lifespan) and its context, called in-process;
    ``wrap`` puts an ASGI middleware of the bench's own around it."""
    app = create_app(settings, with_ui=False)
    client = InProcessClient(app, wrap(app) if wrap else None)
    try:
        yield Hub(client=client, ctx=app.state.ctx)
    finally:
        client.close()


def login(client: InProcessClient, email: str, password: str = BENCH_PASSWORD) -> dict[str, str]:
    response = client.post("/api/auth/login", json={"email": email, "password": password})
    if response.status_code != 200:
        raise RuntimeError(f"login as {email} failed: {response.status_code} {response.text}")
    return {"Authorization": f"Bearer {response.json()['accessToken']}"}
