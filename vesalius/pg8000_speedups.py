"""Three costs pg8000 (a pure-Python PostgreSQL driver, chosen for its licence) pays on
every query, removed for Vesalius's engine.

- Timestamps and dates: its parsers go through ``strptime`` (~30 µs a value, 1.5 ms on a
  page of 50 rows). ``fromisoformat`` reads PostgreSQL's text form directly; anything it
  cannot read (infinity, years past 9999) goes to pg8000's own parser as before.
- Placeholders: every ``execute`` rescans the SQL text character by character to turn
  ``%s`` into ``$1`` (~0.5 ms for a 30-column SELECT). For the positional styles the result
  depends on the text alone, so it is computed once per statement and remembered.
"""

from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import pg8000.dbapi
import pg8000.legacy
from pg8000 import converters
from sqlalchemy import Engine, event

TIMESTAMP_OID = 1114  # timestamp without time zone: how UTCDateTime is stored
DATE_OID = 1082
POSITIONAL_STYLES = ("format", "numeric", "qmark")  # values pass through unchanged
STATEMENTS_REMEMBERED = 4096

_scan_placeholders: Callable[[str, str, Any], tuple[str, Any]] = pg8000.dbapi.convert_paramstyle


def _timestamp_in(text: str) -> datetime | str:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        result: datetime | str = converters.timestamp_in(text)
        return result


def _date_in(text: str) -> date | str:
    try:
        return date.fromisoformat(text)
    except ValueError:
        result: date | str = converters.date_in(text)
        return result


@lru_cache(maxsize=STATEMENTS_REMEMBERED)
def _numbered(style: str, query: str) -> str:
    return _scan_placeholders(style, query, ())[0]


def _convert_paramstyle(style: str, query: str, args: Any) -> tuple[str, Any]:
    if style in POSITIONAL_STYLES:
        return _numbered(style, query), args
    return _scan_placeholders(style, query, args)


def configure_pg8000(engine: Engine) -> None:
    # pg8000's cursors look the function up in their module on every call; SQLAlchemy's
    # dialect uses the ``legacy`` one, which imported its own reference.
    pg8000.dbapi.convert_paramstyle = _convert_paramstyle
    pg8000.legacy.convert_paramstyle = _convert_paramstyle

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.register_in_adapter(TIMESTAMP_OID, _timestamp_in)
        dbapi_connection.register_in_adapter(DATE_OID, _date_in)
