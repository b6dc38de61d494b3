"""Loading many rows fast: ``COPY … FROM STDIN`` on PostgreSQL, sqlite3's ``executemany`` on
SQLite, and ``VACUUM ANALYZE`` afterwards.

A multi-row ``VALUES`` list is parsed and planned per statement; ``COPY`` streams hundreds of
thousands of rows a second with neither.
"""

import contextlib
import csv
import io
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from itertools import islice
from typing import Any, Protocol

from sqlalchemy import Engine, Table, create_engine, text
from sqlalchemy.pool import NullPool

CHUNK_ROWS = 50_000


def copy_value(value: object) -> object:
    """A value after its column's bind processor, in COPY's CSV form."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):  # UTCDateTime has made it naive UTC already
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value  # None becomes an unquoted empty field: NULL in COPY's CSV format


def copy_csv(
    cursor: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]
) -> None:
    """One ``COPY table (columns) FROM STDIN`` of ``rows``, already in CSV-ready values.

    ``None`` is NULL; so is an empty string (``csv`` writes it unquoted): rows hold none.
    """
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    buffer.seek(0)
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)") as copy:
        copy.write(buffer.getvalue())


def bulk_load(
    engine: Engine,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    on_chunk: Callable[[int], None] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> int:
    """Insert ``rows`` (Python values in ``columns`` order: aware datetimes, enums, dicts …)
    in chunks, each value bound by its column's own type as the ORM would bind it; SQLite
    through sqlite3's ``executemany``, PostgreSQL through ``COPY``. One transaction per chunk;
    ``on_chunk`` gets the number of rows written so far. Returns that number."""
    dialect = engine.dialect
    processors = [table.c[name].type._cached_bind_processor(dialect) for name in columns]
    postgres = dialect.name == "postgresql"
    done = 0
    source = iter(rows)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        while chunk := list(islice(source, chunk_rows)):
            bound = [
                tuple(
                    value if process is None else process(value)
                    for process, value in zip(processors, row, strict=True)
                )
                for row in chunk
            ]
            if postgres:
                copy_csv(cursor, table.name, columns, ([copy_value(v) for v in r] for r in bound))
                raw.commit()
            else:
                _sqlite_insert(raw, table.name, columns, bound)
            done += len(chunk)
            if on_chunk is not None:
                on_chunk(done)
    finally:
        raw.close()
    return done


def _sqlite_insert(
    raw: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]
) -> None:
    """One transaction; Vesalius's connections leave transaction control to us (``BEGIN``)."""
    marks = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
    driver = raw.driver_connection if hasattr(raw, "driver_connection") else raw
    if driver.isolation_level is None:  # autocommit mode: open the transaction ourselves
        driver.execute("BEGIN IMMEDIATE")
        try:
            driver.executemany(sql, rows)
        except BaseException:
            driver.execute("ROLLBACK")
            raise
        driver.execute("COMMIT")
    else:
        driver.executemany(sql, rows)
        driver.commit()


class Loader(Protocol):
    """Rows in what the database stores: text for datetimes (``YYYY-MM-DD HH:MM:SS.ffffff``,
    naive UTC) and JSON, ints, floats, ``None``; no tab, newline or backslash in a value."""

    def prepare(self, rows: Sequence[Sequence[object]]) -> Any:
        """The CPU-bound part of a write, to do in the generating thread."""

    def send(self, table: str, columns: Sequence[str], prepared: Any) -> None:
        """Insert what ``prepare`` made, and commit."""

    def write(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        """``prepare`` and ``send``."""


class _SqliteLoader:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def prepare(self, rows: Sequence[Sequence[object]]) -> Any:
        return rows

    def send(self, table: str, columns: Sequence[str], prepared: Any) -> None:
        _sqlite_insert(self.conn, table, columns, prepared)

    def write(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        self.send(table, columns, rows)


def _nulls(data: str) -> str:
    """Every field that is exactly ``None`` (``str(None)``) as COPY's NULL, ``\\N``."""
    data = "\n" + data
    for before, after in (("\t", "\t"), ("\t", "\t"), ("\n", "\t"), ("\t", "\n"), ("\n", "\n")):
        # Twice between tabs: two NULLs side by side share the tab between them.
        data = data.replace(f"{before}None{after}", f"{before}\\N{after}")
    return data[1:]


class _PostgresLoader:
    """COPY's text format, built with ``str`` and ``join`` (several times faster than ``csv``
    with quoted JSON and user agents) and handed to psycopg in one write, which it sends
    from C with the GIL released, so a thread sending while another generates does not
    convoy on the GIL."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.cursor = raw.cursor()

    def prepare(self, rows: Sequence[Sequence[object]]) -> Any:
        data = "\n".join(["\t".join(map(str, row)) for row in rows]) + "\n"
        if "\\" in data:
            raise ValueError("a value holds a backslash, which COPY's text format escapes")
        return _nulls(data).encode() if rows else b""

    def send(self, table: str, columns: Sequence[str], prepared: Any) -> None:
        if not prepared:
            return
        with self.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            copy.write(prepared)
        self.raw.commit()

    def write(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        self.send(table, columns, self.prepare(rows))


@contextlib.contextmanager
def loader(engine: Engine) -> Iterator[Loader]:
    """A connection of its own for a load of millions of pre-formatted rows, closed afterwards
    (never handed back to a pool).

    The data is consistent by construction, so checks that would cost more than the load
    itself are off on this connection only: SQLite's foreign keys, fsyncs and rollback
    journal on disk (with a 1 GiB page cache for the indexes' random inserts); PostgreSQL's
    foreign-key triggers (``session_replication_role = replica``, as ``pg_restore
    --disable-triggers`` does).
    """
    if engine.dialect.name == "sqlite":
        assert engine.url.database
        conn = sqlite3.connect(engine.url.database, isolation_level=None, check_same_thread=False)
        try:
            pragmas = ("foreign_keys=OFF", "synchronous=OFF", "journal_mode=MEMORY")
            for pragma in (*pragmas, "cache_size=-1048576"):
                conn.execute(f"PRAGMA {pragma}")
            yield _SqliteLoader(conn)
        finally:
            conn.close()
        return
    own = create_engine(engine.url, poolclass=NullPool)
    raw = own.raw_connection()
    try:
        raw.cursor().execute("SET session_replication_role = replica")
        raw.commit()
        yield _PostgresLoader(raw)
    finally:
        raw.close()
        own.dispose()


@contextlib.contextmanager
def indexes_rebuilt(engine: Engine, *tables: str) -> Iterator[list[str]]:
    """Drop the plain indexes of ``tables`` and create them again on the way out, from the
    database's own definitions (those the migrations wrote), as ``pg_restore`` does: one
    sort per index instead of millions of random inserts. Primary keys and unique
    constraints stay. Yields the statements that will recreate them."""
    postgres = engine.dialect.name == "postgresql"
    with engine.connect() as conn:
        found: list[tuple[str, str]] = []
        for table in tables:
            if postgres:
                rows = conn.execute(
                    text(
                        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t "
                        "AND indexname NOT IN (SELECT conname FROM pg_constraint "
                        "WHERE conrelid = CAST(:t AS regclass))"
                    ),
                    {"t": table},
                )
            else:
                rows = conn.execute(
                    text(
                        "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                        "AND tbl_name = :t AND sql IS NOT NULL"
                    ),
                    {"t": table},
                )
            found += [(str(name), str(ddl)) for name, ddl in rows]
        for name, _ddl in found:
            conn.execute(text(f"DROP INDEX {name}"))
        conn.commit()
    statements = [ddl for _name, ddl in found]
    yield statements
    with engine.connect() as conn:
        if postgres:
            conn.execute(text("SET maintenance_work_mem = '1GB'"))
        else:  # sort in memory, on both cores
            for pragma in ("cache_size=-1048576", "temp_store=MEMORY", "threads=2"):
                conn.execute(text(f"PRAGMA {pragma}"))
        for ddl in statements:
            conn.execute(text(ddl))
        conn.commit()


def refresh_statistics(engine: Engine, *tables: str) -> None:
    """PostgreSQL's autovacuum would have vacuumed and analysed the tables a minute after
    such a load (the visibility map it sets is what lets index-only scans skip the heap).

    SQLite gets nothing: Vesalius never runs ANALYZE there, so neither does the bench.
    """
    if engine.dialect.name != "postgresql":
        return
    # VACUUM refuses to run in a transaction; a separate autocommit engine is simplest.
    autocommit = create_engine(engine.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with autocommit.connect() as conn:
            for table in tables:
                conn.execute(text(f"VACUUM ANALYZE {table}"))
    finally:
        autocommit.dispose()
