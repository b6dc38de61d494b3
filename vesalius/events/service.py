"""Ingest keys, reading raw events and per-minute figures, the roll-up and retention.

The only code that queries or changes the events tables (the writer inserts; see writer.py).
"""

import hashlib
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, select
from sqlalchemy.orm import Session

from vesalius.accounts.models import Role, User
from vesalius.accounts.permissions import ensure_role
from vesalius.common.errors import BadRequest, NotFound
from vesalius.common.pagination import Cursor, check_limit, older_than
from vesalius.db import utcnow
from vesalius.events.models import Event, EventMinute, IngestKey

KEY_PREFIX = "vik_"
HUB_CLIENT = "vesalius-hub"
MAX_HISTORY_POINTS = 10_000


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class EventFilters:
    client_id: str | None = None
    type: str | None = None
    route: str | None = None
    user_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.client_id is not None:
            found.append(Event.client_id == self.client_id)
        if self.type is not None:
            found.append(Event.type == self.type)
        if self.route is not None:
            found.append(Event.route == self.route)
        if self.user_id is not None:
            found.append(Event.user_id == self.user_id)
        if self.start is not None:
            found.append(Event.occurred_at >= self.start)
        if self.end is not None:
            found.append(Event.occurred_at < self.end)
        return found


@dataclass(frozen=True)
class IssuedKey:
    key: IngestKey
    secret: str


class EventService:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- ingest keys (administrators) -----------------------------------------------------------
    def create_key(
        self,
        admin: User,
        name: str,
        allowed_origins: list[str] | None,
        rate_per_minute: int | None,
    ) -> IssuedKey:
        ensure_role(admin, Role.admin)
        secret = KEY_PREFIX + secrets.token_urlsafe(24)
        key = IngestKey(
            name=name.strip(),
            key_hash=hash_key(secret),
            key_prefix=secret[:10],
            allowed_origins=[o.rstrip("/") for o in allowed_origins] if allowed_origins else None,
            rate_per_minute=rate_per_minute,
            created_by=admin.id,
        )
        self.session.add(key)
        self.session.commit()
        return IssuedKey(key, secret)

    def list_keys(self, admin: User) -> list[IngestKey]:
        ensure_role(admin, Role.admin)
        return list(self.session.scalars(select(IngestKey).order_by(IngestKey.id.desc())))

    def revoke_key(self, admin: User, key_id: int) -> IngestKey:
        ensure_role(admin, Role.admin)
        key = self.session.get(IngestKey, key_id)
        if key is None:
            raise NotFound("no such ingest key", code="ingest_key_not_found")
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            self.session.commit()
        return key

    def key_by_secret(self, secret: str) -> IngestKey | None:
        """The live key with this secret (None if unknown or revoked)."""
        return self.session.scalar(
            select(IngestKey).where(
                IngestKey.key_hash == hash_key(secret), IngestKey.revoked_at.is_(None)
            )
        )

    # -- raw events -----------------------------------------------------------------------------
    def list_events(
        self, filters: EventFilters, cursor: str | None, limit: int
    ) -> tuple[list[Event], str | None]:
        check_limit(limit, 1000)
        query: Select[Event] = select(Event).where(*filters.conditions())
        if cursor:
            position = Cursor.decode(cursor)
            query = query.where(older_than(Event.occurred_at, Event.id, position))
        query = query.order_by(Event.occurred_at.desc(), Event.id.desc()).limit(limit + 1)
        rows = list(self.session.scalars(query))
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = Cursor(rows[-1].occurred_at, rows[-1].id).encode() if more else None
        return rows, next_cursor

    def count_events(self, filters: EventFilters) -> int:
        query = select(func.count()).select_from(Event).where(*filters.conditions())
        return int(self.session.scalar(query) or 0)

    # -- per-minute figures ---------------------------------------------------------------------
    def roll_up(self, start: datetime, end: datetime) -> int:
        """(Re)build the minutes in ``[start, end)`` from raw events by reception time.
        Idempotent: a minute is replaced whole, so running twice or on two machines is fine."""
        rows = self.session.execute(
            select(
                Event.received_at,
                Event.client_id,
                Event.type,
                Event.status_code,
                Event.user_id,
                Event.session_id,
                Event.duration_ms,
            ).where(Event.received_at >= start, Event.received_at < end)
        )
        minutes: dict[tuple[datetime, str], dict[str, Any]] = {}
        for received, client, kind, status, user, sess, duration in rows:
            minute = received.replace(second=0, microsecond=0)
            entry = minutes.setdefault(
                (minute, client),
                {"n": 0, "err": 0, "u": set(), "s": set(), "d": 0.0, "dn": 0, "t": Counter()},
            )
            entry["n"] += 1
            if kind == "error" or (status is not None and status >= 500):
                entry["err"] += 1
            if user is not None:
                entry["u"].add(user)
            entry["s"].add(sess)
            if duration is not None:
                entry["d"] += duration
                entry["dn"] += 1
            entry["t"][kind] += 1
        self.session.execute(
            delete(EventMinute).where(EventMinute.minute >= start, EventMinute.minute < end)
        )
        for (minute, client), entry in minutes.items():
            self.session.add(
                EventMinute(
                    minute=minute,
                    client_id=client,
                    events=entry["n"],
                    errors=entry["err"],
                    users=len(entry["u"]),
                    sessions=len(entry["s"]),
                    duration_sum_ms=entry["d"],
                    duration_count=entry["dn"],
                    by_type=dict(entry["t"]),
                )
            )
        self.session.commit()
        return len(minutes)

    def history(
        self, start: datetime, end: datetime, bucket: str, client_id: str | None
    ) -> list[dict[str, Any]]:
        if bucket not in ("minute", "hour"):
            raise BadRequest("bucket must be minute or hour", code="invalid_bucket")
        if end <= start:
            raise BadRequest("to must be after from", code="invalid_range")
        step = timedelta(minutes=1) if bucket == "minute" else timedelta(hours=1)
        if (end - start) / step > MAX_HISTORY_POINTS:
            raise BadRequest(
                f"at most {MAX_HISTORY_POINTS} {bucket}s at once; narrow the range",
                code="range_too_long",
            )
        query = select(EventMinute).where(EventMinute.minute >= start, EventMinute.minute < end)
        if client_id is not None:
            query = query.where(EventMinute.client_id == client_id)
        points: dict[datetime, dict[str, Any]] = {}
        for row in self.session.scalars(query.order_by(EventMinute.minute)):
            at = row.minute if bucket == "minute" else row.minute.replace(minute=0)
            point = points.setdefault(
                at,
                {
                    "at": at,
                    "events": 0,
                    "errors": 0,
                    "users": 0,
                    "sessions": 0,
                    "d": 0.0,
                    "dn": 0,
                    "byType": Counter(),
                },
            )
            point["events"] += row.events
            point["errors"] += row.errors
            # Distinct users do not add up across minutes or clients: the busiest one is a
            # lower bound, and what the history shows (documented).
            point["users"] = max(point["users"], row.users)
            point["sessions"] = max(point["sessions"], row.sessions)
            point["d"] += row.duration_sum_ms
            point["dn"] += row.duration_count
            point["byType"].update(row.by_type)
        out = []
        for point in points.values():
            dn = point.pop("dn")
            total = point.pop("d")
            point["avgDurationMs"] = round(total / dn, 2) if dn else None
            events = point["events"]
            point["errorRate"] = round(point["errors"] / events, 4) if events else 0.0
            point["byType"] = dict(point["byType"])
            out.append(point)
        return out

    def drop_expired(self, retention_days: int) -> int:
        """Raw events received more than ``retention_days`` ago (their ids may come back)."""
        cutoff = utcnow() - timedelta(days=retention_days)
        result = self.session.execute(delete(Event).where(Event.received_at < cutoff))
        self.session.commit()
        return int(getattr(result, "rowcount", 0) or 0)
