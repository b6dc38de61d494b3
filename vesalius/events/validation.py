"""Parsing and checking incoming events, fast: msgspec decodes each event straight from its
bytes into a typed struct (no dict in between), and only a failing event is looked at again
to report every wrong field.

A body is one event or ``{"events": [...]}``. Each event is checked on its own, so one bad
event is rejected by index while the others in the batch are accepted.
"""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, NoReturn

import msgspec

from vesalius.common.errors import AppError, PayloadTooLarge, UnprocessableEntity

MAX_FUTURE = timedelta(hours=24)
MAX_PAST = timedelta(days=7)

Short = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class EventIn(msgspec.Struct, forbid_unknown_fields=False):
    eventId: uuid.UUID
    type: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    timestamp: datetime
    clientId: Short
    sessionId: Short
    route: Annotated[str, msgspec.Meta(min_length=1, max_length=512)]
    userId: Short | None = None
    statusCode: Annotated[int, msgspec.Meta(ge=100, le=599)] | None = None
    durationMs: Annotated[float, msgspec.Meta(ge=0, le=86_400_000)] | None = None
    properties: dict[str, Any] | None = None


REQUIRED = ("eventId", "type", "timestamp", "clientId", "sessionId", "route")
_event_decoder = msgspec.json.Decoder(EventIn)
_top_decoder = msgspec.json.Decoder(dict[str, msgspec.Raw])
_list_decoder = msgspec.json.Decoder(list[msgspec.Raw])
_any_decoder = msgspec.json.Decoder()


@dataclass(frozen=True)
class Rejection:
    index: int
    code: str
    message: str
    fields: dict[str, str] | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "code": self.code, "message": self.message}
        if self.fields:
            out["fields"] = self.fields
        return out


@dataclass
class Parsed:
    events: list[EventIn] = field(default_factory=list)
    # Position in the request of each accepted-for-writing event (to report duplicates).
    rejected: list[Rejection] = field(default_factory=list)
    total: int = 0
    single: bool = False


def parse_body(body: bytes, *, max_event_bytes: int, max_batch: int) -> Parsed:
    """One event or a batch, from raw JSON bytes. Raises for a body that is not JSON at all,
    a batch over ``max_batch`` or a single event over ``max_event_bytes``."""
    stripped = body.lstrip()
    if not stripped.startswith(b"{"):
        if stripped.startswith(b"["):
            raise UnprocessableEntity(
                'send one event object or {"events": [...]}', code="invalid_body"
            )
        raise_malformed(body)
    batch = _batch_part(body) if b'"events"' in body[:4096] else None
    if batch is None:
        if len(body) > max_event_bytes:
            raise PayloadTooLarge(
                f"an event may be at most {max_event_bytes} bytes",
                code="event_too_large",
                details={"maxBytes": max_event_bytes, "bytes": len(body)},
            )
        parsed = Parsed(total=1, single=True)
        _check_one(body, 0, parsed, max_event_bytes)
        return parsed
    try:
        raws = _list_decoder.decode(batch)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        raise UnprocessableEntity(
            f"events must be a list of event objects ({error})", code="invalid_body"
        ) from None
    if len(raws) > max_batch:
        raise PayloadTooLarge(
            f"a batch may hold at most {max_batch} events",
            code="batch_too_large",
            details={"maxEvents": max_batch, "events": len(raws)},
        )
    parsed = Parsed(total=len(raws))
    for index, raw in enumerate(raws):
        _check_one(raw, index, parsed, max_event_bytes)
    return parsed


def _batch_part(body: bytes) -> msgspec.Raw | None:
    """The undecoded ``events`` list of a batch, or None for a single event."""
    try:
        top = _top_decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise_malformed(body)
        raise  # raise_malformed always raises
    if "events" in top and "eventId" not in top:
        return top["events"]
    return None


def raise_malformed(body: bytes) -> NoReturn:
    try:
        _any_decoder.decode(body)
    except msgspec.DecodeError as error:
        raise AppError(str(error), code="malformed_json") from None
    raise UnprocessableEntity('send one event object or {"events": [...]}', code="invalid_body")


def _check_one(raw: bytes | msgspec.Raw, index: int, parsed: Parsed, max_bytes: int) -> None:
    size = len(raw)
    if size > max_bytes:
        parsed.rejected.append(
            Rejection(index, "event_too_large", f"event is {size} bytes, at most {max_bytes}")
        )
        return
    try:
        event = _event_decoder.decode(raw)
    except msgspec.ValidationError:
        parsed.rejected.append(_explain(raw, index))
        return
    except msgspec.DecodeError as error:
        parsed.rejected.append(Rejection(index, "malformed_json", str(error)))
        return
    problem = _check_time(event)
    if problem is not None:
        parsed.rejected.append(Rejection(index, problem[0], problem[1], {"timestamp": problem[1]}))
        return
    parsed.events.append(event)


def _check_time(event: EventIn) -> tuple[str, str] | None:
    stamp = event.timestamp
    if stamp.tzinfo is None:  # ISO-8601 without an offset: read as UTC, as browsers send it
        stamp = event.timestamp = stamp.replace(tzinfo=UTC)
    now = datetime.now(UTC)
    if stamp > now + MAX_FUTURE:
        return "timestamp_in_future", "timestamp is more than 24 hours in the future"
    if stamp < now - MAX_PAST:
        return "timestamp_too_old", "timestamp is more than 7 days in the past"
    return None


def _explain(raw: bytes | msgspec.Raw, index: int) -> Rejection:
    """Every wrong field of a failing event (msgspec stops at the first)."""
    try:
        data = _any_decoder.decode(raw)
    except msgspec.DecodeError as error:
        return Rejection(index, "malformed_json", str(error))
    if not isinstance(data, dict):
        return Rejection(index, "invalid_event", "an event must be a JSON object")
    fields: dict[str, str] = {}
    for name in REQUIRED:
        if data.get(name) is None:
            fields[name] = "required"
    for name in EventIn.__struct_fields__:
        if name in fields or data.get(name) is None:
            continue
        try:
            msgspec.convert({**_minimal(), name: data[name]}, EventIn)
        except msgspec.ValidationError as error:
            fields[name] = str(error).split(" - at ")[0]
    if not fields:  # a problem no single field shows (should not happen); say what msgspec said
        try:
            msgspec.convert(data, EventIn)
        except msgspec.ValidationError as error:
            return Rejection(index, "invalid_event", str(error))
    listed = ", ".join(f"{name}: {why}" for name, why in fields.items())
    return Rejection(index, "invalid_event", f"invalid fields ({listed})", fields)


def _minimal() -> dict[str, Any]:
    return {
        "eventId": "00000000-0000-4000-8000-000000000000",
        "type": "x",
        "timestamp": "2026-01-01T00:00:00Z",
        "clientId": "x",
        "sessionId": "x",
        "route": "/",
    }
