"""Keyset cursors ``<ISO-8601 created_at>_<id>`` over lists ordered newest first.

A cursor names the last row seen, so a page is one index range scan however deep it is,
and rows inserted meanwhile are neither repeated nor skipped.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, literal, tuple_
from sqlalchemy.sql.expression import Tuple

from vesalius.common.errors import BadRequest

MAX_LIMIT = 100


@dataclass(frozen=True)
class Cursor:
    created_at: datetime
    id: int

    def encode(self) -> str:
        stamp = self.created_at.astimezone(UTC).isoformat(timespec="microseconds")
        return f"{stamp.replace('+00:00', 'Z')}_{self.id}"

    @classmethod
    def decode(cls, raw: str) -> "Cursor":
        stamp, sep, ident = raw.rpartition("_")
        try:
            if not sep or not ident.isdigit():
                raise ValueError
            created = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            raise BadRequest(
                "cursor must look like <ISO-8601 time>_<id>, as returned in nextCursor",
                code="invalid_cursor",
                details={"cursor": raw},
            ) from None
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        return cls(created_at=created, id=int(ident))


def check_limit(limit: int, maximum: int = MAX_LIMIT) -> int:
    if not 1 <= limit <= maximum:
        raise BadRequest(
            f"limit must be between 1 and {maximum}",
            code="invalid_limit",
            details={"limit": limit},
        )
    return limit


def _position(created_col: Any, id_col: Any, cursor: Cursor) -> Tuple:
    # Inside a tuple the values do not take the columns' types by themselves; without this
    # the time would reach PostgreSQL as timestamptz and be shifted by the session time zone.
    return tuple_(literal(cursor.created_at, created_col.type), literal(cursor.id, id_col.type))


def older_than(created_col: Any, id_col: Any, cursor: Cursor) -> ColumnElement[bool]:
    """Rows after ``cursor`` in newest-first order.

    A row-value comparison, which both PostgreSQL and SQLite turn into one index range.
    """
    return tuple_(created_col, id_col) < _position(created_col, id_col, cursor)


def newer_than(created_col: Any, id_col: Any, cursor: Cursor) -> ColumnElement[bool]:
    """Rows before ``cursor`` in newest-first order (for ``direction=prev``)."""
    return tuple_(created_col, id_col) > _position(created_col, id_col, cursor)
