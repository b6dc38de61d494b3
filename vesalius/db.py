"""Database wiring: engine, sessions, the declarative base and shared column types.

SQLite (embedded mode) runs in WAL mode with foreign keys on and a busy timeout. Write
sessions open with ``BEGIN IMMEDIATE`` so two writers queue on the lock instead of failing
with SQLITE_BUSY when a read transaction tries to upgrade; read sessions stay deferred so
readers never wait. PostgreSQL needs none of this.
"""

import importlib
import importlib.util
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import DateTime, Engine, Enum, MetaData, create_engine, event, text
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from vesalius.domains import DOMAINS

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
READ_ONLY_OPTION = "vesalius_read_only"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def string_enum(kind: type[StrEnum], name: str) -> Enum:
    """An enum column stored as VARCHAR + CHECK on both backends (not a native PostgreSQL
    type), holding the members' values: adding a value is a plain migration."""
    return Enum(
        kind,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [m.value for m in members],
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module: we emit BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class Database:
    """One engine and its two kinds of session for the whole process."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        # No pre-ping: it costs a round trip per checkout (a third of a cheap request); a
        # connection the server dropped fails its first query, and SQLAlchemy invalidates
        # the pool on that disconnect so the next checkout is fresh.
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 15}
        else:
            kwargs.update(pool_size=10, max_overflow=20)
        self.engine = create_engine(url, **kwargs)
        options: dict[str, Any] = {READ_ONLY_OPTION: True}
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        else:
            # Reads on PostgreSQL run in autocommit: no BEGIN/COMMIT round trips around a
            # single SELECT, and no idle-in-transaction connection holding back vacuum.
            options["isolation_level"] = "AUTOCOMMIT"
        reader = self.engine.execution_options(**options)
        self._write_sessions = sessionmaker(bind=self.engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(bind=reader, expire_on_commit=False)

    def new_session(self) -> Session:
        """A write session the caller closes (``session()`` is the usual way)."""
        return self._write_sessions()

    def new_read_session(self) -> Session:
        return self._read_sessions()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session for work that writes. Commit explicitly; anything else rolls back."""
        with self._write_sessions() as session:
            yield session

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session for pure reads: never takes SQLite's write lock."""
        with self._read_sessions() as session:
            yield session

    def ping(self) -> float:
        """Round-trip one query; returns the latency in milliseconds (raises if unreachable)."""
        started = time.perf_counter()
        with self.engine.connect().execution_options(**{READ_ONLY_OPTION: True}) as conn:
            conn.execute(text("SELECT 1"))
        return (time.perf_counter() - started) * 1000

    def dispose(self) -> None:
        self.engine.dispose()


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the session's current transaction has committed.

    Queue tasks are sent this way, so a worker never sees an id whose row is not visible yet.
    A rollback discards the callbacks.
    """
    session.info.setdefault("after_commit", []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    for callback in session.info.pop("after_commit", []):
        try:
            callback()
        except Exception:  # the row is committed; a rescuer re-sends what failed here
            log.exception("after-commit callback failed")


@event.listens_for(Session, "after_rollback")
def _discard_after_commit(session: Session) -> None:
    session.info.pop("after_commit", None)


def import_all_models() -> None:
    """Import every domain's tables (``vesalius/<domain>/models.py``) so ``Base.metadata``
    knows them (Alembic, tests)."""
    for name in DOMAINS:
        if importlib.util.find_spec(f"vesalius.{name}.models") is not None:
            importlib.import_module(f"vesalius.{name}.models")


def is_constraint_violation(error: BaseException) -> bool:
    """True for a unique, foreign-key or check violation, whatever the driver calls it.

    sqlite3 and psycopg both raise ``IntegrityError``; psycopg's SQLSTATE (class 23) is
    checked too, in case a wrapper re-raises it under another class.
    """
    if isinstance(error, IntegrityError):
        return True
    if isinstance(error, DBAPIError):
        return str(getattr(error.orig, "sqlstate", "") or "").startswith("23")
    return False
