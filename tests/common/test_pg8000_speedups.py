"""The pg8000 shortcuts give exactly what pg8000 itself gives, against a real server."""

from datetime import date, datetime

import pg8000.dbapi
import pytest
from sqlalchemy import text

from vesalius import pg8000_speedups
from vesalius.db import Database

QUERIES = [
    "SELECT a FROM t WHERE b = %s AND c = %s",
    "SELECT '%s is text' AS note, %s AS value",
    "SELECT 100 %% 7, %s",
    'SELECT "odd%name" FROM t WHERE x = %s -- a comment with %s\n AND y = %s',
]


@pytest.mark.parametrize("query", QUERIES)
def test_remembered_placeholders_match_pg8000s_own_scan(query: str) -> None:
    args = ("x", 2, 3)
    original = pg8000_speedups._scan_placeholders("format", query, args)
    assert pg8000_speedups._convert_paramstyle("format", query, args) == original
    # Asked again, the answer comes from memory and is still the same.
    assert pg8000_speedups._convert_paramstyle("format", query, args) == original


def test_named_style_is_left_to_pg8000() -> None:
    query = "SELECT :a, :b, :a"
    assert pg8000_speedups._convert_paramstyle("named", query, {"a": 1, "b": 2}) == (
        pg8000.dbapi.convert_paramstyle("named", query, {"a": 1, "b": 2})
    )


def test_dates_and_times_read_back_as_postgresql_stores_them(postgres_url: str) -> None:
    db = Database(postgres_url)
    try:
        with db.read_session() as session:
            row = session.execute(
                text(
                    "SELECT DATE '2024-02-29', TIMESTAMP '2026-11-23 00:00:00.000001', "
                    "TIMESTAMP '2026-11-23 10:30:00', 'infinity'::timestamp, "
                    "'-infinity'::date, CAST(:p AS integer) + 1"
                ),
                {"p": 41},
            ).one()
    finally:
        db.dispose()
    assert row[0] == date(2024, 2, 29)
    assert row[1] == datetime(2026, 11, 23, 0, 0, 0, 1)
    assert row[2] == datetime(2026, 11, 23, 10, 30)
    assert row[3] == "infinity"
    assert row[4] == "-infinity"
    assert row[5] == 42
