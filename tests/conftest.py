"""Shared fixtures: real databases (SQLite and PostgreSQL), settings, the app and users.

Every test that asks for ``database_url`` (directly or through ``ctx``, ``client`` …) runs
twice: once on SQLite and once on a real PostgreSQL server started for the session.
"""

import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.services import (
    PostgresServer,
    RedisServer,
    S3Server,
    postgres_server,
    redis_server,
    s3_server,
)

# A developer's own VESALIUS_* variables must not change what the tests see.
for _key in list(os.environ):
    if _key.startswith("VESALIUS_") and _key not in (
        "VESALIUS_REQUIRE_SERVICES",
        "VESALIUS_TEST_ARTIFACTS",
    ):
        del os.environ[_key]

from vesalius.accounts.models import Role, User, UserStatus  # noqa: E402
from vesalius.accounts.service import UserService  # noqa: E402
from vesalius.app import create_app  # noqa: E402
from vesalius.config import Settings  # noqa: E402
from vesalius.context import AppContext, build_context  # noqa: E402
from vesalius.keys import generate_keys, secrets_dir  # noqa: E402
from vesalius.migrations import upgrade  # noqa: E402

PASSWORD = "correct-horse-battery-9"
PG_DATABASE = "vesalius_test"


def make_settings(data_dir: Path, database_url: str, **overrides: Any) -> Settings:
    """Settings for a test: cheap password hashing, no .env file, text logs."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "argon2_time_cost": 1,
        "argon2_memory_kib": 8,
        "log_format": "text",
        # Tests decide when jobs run: they call ``run_job`` or start ``Workers`` themselves.
        "embedded_workers": False,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


# -- secrets: one RSA key for the whole session, copied into each data dir ------------------
@pytest.fixture(scope="session")
def secrets_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("secrets-template")
    generate_keys(make_settings(base, "sqlite://"))
    return secrets_dir(make_settings(base, "sqlite://"))


@pytest.fixture
def data_dir(tmp_path: Path, secrets_template: Path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(secrets_template, folder / "secrets")
    return folder


# -- databases ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    # Not under pytest's own temporary folder: every pytest run resets that folder to mode
    # 0700, which would lock the postgres user out of a server another run is still using.
    base = Path(tempfile.mkdtemp(prefix="vesalius-test-postgres-"))
    try:
        with postgres_server(base / "server") as server:
            yield server
    finally:
        shutil.rmtree(base, ignore_errors=True)


def pg_admin(server: PostgresServer, database: str = "postgres") -> psycopg.Connection[Any]:
    """A plain autocommit connection for statements no transaction may hold (CREATE DATABASE)."""
    return psycopg.connect(
        user=server.user, host=server.host, port=server.port, dbname=database, autocommit=True
    )


@pytest.fixture(scope="session")
def pg_database(pg_server: PostgresServer) -> str:
    """One migrated database shared by the session; each test leaves it empty again."""
    conn = pg_admin(pg_server)
    conn.execute(f'CREATE DATABASE "{PG_DATABASE}"')
    conn.close()
    upgrade(pg_server.url(PG_DATABASE))
    return PG_DATABASE


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "vesalius.db"
    upgrade(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:  # fold the WAL into the file we copy
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The migrated PostgreSQL test database, emptied after the test.

    Truncating takes milliseconds where cloning a template database takes a quarter second.
    """
    server: PostgresServer = request.getfixturevalue("pg_server")
    name = request.getfixturevalue("pg_database")
    yield server.url(name)
    conn = pg_admin(server, name)
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT tablename FROM pg_tables"
            " WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )
    ]
    if tables:
        conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    conn.close()


@pytest.fixture
def empty_postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A brand-new database with no tables at all (for migration tests)."""
    server: PostgresServer = request.getfixturevalue("pg_server")
    name = f"empty_{uuid.uuid4().hex[:12]}"
    conn = pg_admin(server)
    conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.url(name)
    finally:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


@pytest.fixture
def sqlite_url(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A fresh, migrated SQLite database for this test."""
    template: Path = request.getfixturevalue("sqlite_template")
    target = tmp_path / "db" / "vesalius.db"
    target.parent.mkdir()
    shutil.copy(template, target)
    return f"sqlite:///{target}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture(scope="session")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


# -- the application ------------------------------------------------------------------------
@pytest.fixture
def settings(data_dir: Path, database_url: str) -> Settings:
    return make_settings(data_dir, database_url)


@pytest.fixture
def ctx(settings: Settings) -> Iterator[AppContext]:
    context = build_context(settings)
    yield context
    context.close()


@pytest.fixture
def client(ctx: AppContext) -> Iterator[TestClient]:
    app = create_app(ctx.settings, with_ui=False, ctx=ctx)
    with TestClient(app) as test_client:
        yield test_client


MakeUser = Callable[..., User]


@pytest.fixture
def make_user(ctx: AppContext) -> MakeUser:
    counter = iter(range(1, 1_000_000))

    def make(
        role: Role = Role.clinician,
        *,
        email: str | None = None,
        password: str = PASSWORD,
        status: UserStatus = UserStatus.active,
        name: str | None = None,
    ) -> User:
        with ctx.db.session() as session:
            user, _ = UserService(ctx, session).create_user(
                None,
                email=email or f"{role.value}{next(counter)}@example.org",
                role=role,
                password=password,
                status=status,
                display_name=name,
            )
        return user

    return make


def login(client: TestClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    """Sign in and return the Authorization header for the access token."""
    response = client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['accessToken']}"}


@pytest.fixture
def admin(make_user: MakeUser) -> User:
    return make_user(Role.admin, email="admin@example.org", name="Ada Admin")


@pytest.fixture
def admin_headers(client: TestClient, admin: User) -> dict[str, str]:
    return login(client, admin.email)
