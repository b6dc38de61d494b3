"""A push parser for multipart/form-data: feed it body chunks, get part events back.

Starlette's form parser reads the whole body before the route sees a byte; this one lets the
upload route stream each file to storage as it arrives.
"""

from dataclasses import dataclass

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from vesalius.common.errors import BadRequest


@dataclass(frozen=True)
class PartStart:
    field_name: str
    filename: str | None
    content_type: str | None


@dataclass(frozen=True)
class PartData:
    data: bytes


@dataclass(frozen=True)
class PartEnd:
    pass


Event = PartStart | PartData | PartEnd


def _text(value: bytes | None) -> str | None:
    return value.decode("utf-8", errors="replace") if value is not None else None


class MultipartStream:
    def __init__(self, content_type: str | None) -> None:
        kind, params = parse_options_header(content_type or "")
        boundary = params.get(b"boundary")
        if kind != b"multipart/form-data" or not boundary:
            raise BadRequest(
                "send files as multipart/form-data",
                code="not_multipart",
                details={"contentType": content_type},
            )
        self._events: list[Event] = []
        self._headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""
        self._ended = False
        self._parser = MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": self._on_part_begin,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
                "on_end": self._on_end,
            },
        )

    def feed(self, chunk: bytes) -> list[Event]:
        try:
            self._parser.write(chunk)
        except MultipartParseError as error:
            raise BadRequest(
                f"the multipart body is malformed: {error}", code="invalid_multipart"
            ) from None
        events, self._events = self._events, []
        return events

    def finish(self) -> list[Event]:
        self._parser.finalize()
        if not self._ended:
            raise BadRequest(
                "the multipart body ended early (upload interrupted?)", code="truncated_upload"
            )
        events, self._events = self._events, []
        return events

    def _on_part_begin(self) -> None:
        self._headers = {}

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _on_header_end(self) -> None:
        self._headers[self._field.strip().lower()] = self._value.strip()
        self._field = b""
        self._value = b""

    def _on_headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._events.append(
            PartStart(
                field_name=_text(params.get(b"name")) or "",
                filename=_text(params.get(b"filename")),
                content_type=_text(self._headers.get(b"content-type")),
            )
        )

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        self._events.append(PartData(bytes(data[start:end])))

    def _on_part_end(self) -> None:
        self._events.append(PartEnd())

    def _on_end(self) -> None:
        self._ended = True
