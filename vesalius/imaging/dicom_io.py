"""Opening a DICOM file: the header without pixel data, and where the pixel data sits.

pydicom is lenient by design: a file cut in the middle of its header still "reads", with
the last value silently short. The checks here turn that leniency into clear refusals,
because a file we accept is stored, indexed and forwarded to a PACS.

Everything is read from one open stream, once: the header is parsed up to the pixel data
element, and decoding later seeks straight to the frame it needs (see ``dicom_codecs``).
"""

import contextlib
import io
import os
import re
import shutil
import struct
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Final

from pydicom import dcmread
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filereader import read_dataset
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

Source = str | os.PathLike[str] | BinaryIO

PREAMBLE_LENGTH: Final = 128
PIXEL_KEYWORDS: Final = {
    0x7FE00010: "PixelData",
    0x7FE00008: "FloatPixelData",
    0x7FE00009: "DoubleFloatPixelData",
}
UNDEFINED_LENGTH: Final = 0xFFFFFFFF
# A header (everything before the pixel data) larger than this after inflating is refused:
# real headers are kilobytes, and a deflated file must not be able to inflate without bound.
HEADER_INFLATE_LIMIT: Final = 16 * 1024 * 1024
# Uploads may arrive as non-seekable streams; they are spooled, in memory up to this size.
SPOOL_IN_MEMORY: Final = 16 * 1024 * 1024
# The file meta (which names the transfer syntax) sits in the first few hundred bytes.
_HEAD_SCAN: Final = 4096
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")
# Explicit VRs with a 4-byte length (PS3.5 7.1.2).
_LONG_VRS: Final = frozenset(b"OB OD OF OL OV OW SQ SV UC UN UR UT UV".split())
_ITEM: Final = 0xFFFEE000
_SEQUENCE_DELIMITER: Final = 0xFFFEE0DD


class InvalidDicom(ValueError):
    """Not DICOM, or too broken to use. ``str(error)`` is a short reason for a person."""


def sniff_is_dicom(head: bytes) -> bool:
    """True when ``head`` (the first 132 or more bytes) has the DICOM preamble and ``DICM``."""
    return (
        len(head) >= PREAMBLE_LENGTH + 4 and head[PREAMBLE_LENGTH : PREAMBLE_LENGTH + 4] == b"DICM"
    )


def is_valid_uid(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 64 and _UID.match(value) is not None


@dataclass(frozen=True)
class PixelElement:
    """Where the pixel data element's value sits in the stream."""

    keyword: str  # PixelData, FloatPixelData or DoubleFloatPixelData
    vr: str | None  # None for implicit VR
    value_offset: int
    length: int | None  # None when encapsulated (undefined length)
    end: int  # first byte after the value

    @property
    def encapsulated(self) -> bool:
        return self.length is None


@dataclass
class OpenedDicom:
    """A DICOM stream with its header parsed; ``pixel`` offsets are into ``stream``."""

    dataset: Dataset  # header only: no pixel data
    stream: BinaryIO
    size: int
    declared_syntax: UID | None  # from the file meta, as written
    pixel_syntax: UID  # how the pixel element is encoded in ``stream`` (inflated if deflated)
    pixel: PixelElement | None
    deflated: bytes | None = None  # the compressed body, kept to inflate further on demand


@contextlib.contextmanager
def open_dicom(source: Source) -> Iterator[OpenedDicom]:
    """Parse the header of ``source`` (a path or a binary stream) and locate its pixel data.

    Raises ``InvalidDicom`` for anything that is not DICOM, whose header is truncated, or
    whose pixel data is shorter than it declares. A stream is read from its start and left
    open; a path is opened and closed here.
    """
    with _binary_stream(source) as stream:
        yield _open_stream(stream)


def inflate_pixels(opened: OpenedDicom, needed: int) -> None:
    """Inflate a deflated file far enough to hold ``needed`` bytes, and no further.

    The header was parsed from a bounded prefix; decoding needs the pixel data too, but a
    deflate bomb must not be able to make us allocate more than the image it declares.
    """
    if opened.deflated is None or opened.stream.seek(0, io.SEEK_END) >= needed:
        return
    body = _inflate(opened.deflated, needed)
    opened.stream = io.BytesIO(body)
    opened.size = len(body)
    if opened.pixel is not None:
        opened.pixel = _locate_pixel_end(opened.stream, opened.pixel, opened.size)


# -- streams ----------------------------------------------------------------------------------
@contextlib.contextmanager
def _binary_stream(source: Source) -> Iterator[BinaryIO]:
    if isinstance(source, str | os.PathLike):
        try:
            with open(source, "rb") as handle:  # noqa: PTH123 (source may be any PathLike)
                yield handle
        except (FileNotFoundError, IsADirectoryError) as error:
            raise InvalidDicom(f"cannot open the file: {error.strerror}") from error
        return
    if _seekable(source):
        source.seek(0)
        yield source
        return
    # pydicom seeks while parsing; an unseekable upload stream is spooled once.
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
        shutil.copyfileobj(source, spool)
        spool.seek(0)
        yield spool  # type: ignore[misc]  # SpooledTemporaryFile is a BinaryIO at runtime


def _seekable(stream: BinaryIO) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, ValueError):
        return False


def _stream_size(stream: BinaryIO) -> int:
    here = stream.tell()
    size = stream.seek(0, io.SEEK_END)
    stream.seek(here)
    return size


# -- the header -------------------------------------------------------------------------------
def _open_stream(stream: BinaryIO) -> OpenedDicom:
    size = _stream_size(stream)
    head = stream.read(_HEAD_SCAN)
    stream.seek(0)
    if not head:
        raise InvalidDicom("the file is empty")
    has_preamble = sniff_is_dicom(head)
    if not has_preamble and not _looks_like_bare_dataset(head):
        raise InvalidDicom("not a DICOM file: no DICM prefix and no DICOM data set at the start")
    if has_preamble and DeflatedExplicitVRLittleEndian.encode() in head:
        # Read the file meta first: for a deflated body pydicom would inflate all of it.
        # (The byte search spares every other file a second parse of its file meta.)
        meta = _read_file_meta(stream)
        if meta.get("TransferSyntaxUID") == DeflatedExplicitVRLittleEndian:
            return _open_deflated(stream, meta)
        stream.seek(0)
    try:
        dataset = dcmread(stream, stop_before_pixels=True, force=not has_preamble)
    except MemoryError:
        raise
    except Exception as error:  # pydicom on arbitrary bytes: anything can go wrong
        raise InvalidDicom(f"unreadable DICOM header: {_reason(error)}") from error
    if not dataset:
        raise InvalidDicom("the file is truncated: it has no data set after its file meta")
    file_meta: FileMetaDataset = getattr(dataset, "file_meta", FileMetaDataset())
    declared = file_meta.get("TransferSyntaxUID")
    declared_syntax = UID(str(declared)) if declared else None
    pixel_syntax = declared_syntax or _guessed_syntax(dataset)
    if declared_syntax is not None and not _plausible_syntax(declared_syntax):
        raise InvalidDicom(f"unknown transfer syntax {declared_syntax!s}")
    # The body's own encoding, which pydicom detects: some writers declare explicit VR in the
    # file meta and then write implicit VR.
    implicit, little = dataset.original_encoding
    pixel = _read_pixel_header(stream, implicit=bool(implicit), little=little is not False)
    if pixel is None:
        _check_complete(dataset, size)
    else:
        pixel = _locate_pixel_end(stream, pixel, size)
    return OpenedDicom(dataset, stream, size, declared_syntax, pixel_syntax, pixel)


def _open_deflated(stream: BinaryIO, meta: FileMetaDataset) -> OpenedDicom:
    """pydicom inflates the whole body to parse a deflated file; we inflate a bounded
    prefix for the header (the pixel data follows later, bounded by the image's size).
    ``stream`` is positioned just after the file meta."""
    deflated = stream.read()
    prefix = _inflate(deflated, HEADER_INFLATE_LIMIT)
    body = io.BytesIO(prefix)
    try:
        dataset = read_dataset(body, False, True, stop_when=_at_pixel_data)
    except MemoryError:
        raise
    except Exception as error:  # as above
        raise InvalidDicom(f"unreadable deflated DICOM header: {_reason(error)}") from error
    dataset.file_meta = meta
    complete = len(prefix) < HEADER_INFLATE_LIMIT
    pixel = _read_pixel_header(body, implicit=False, little=True)
    if pixel is None:
        if not complete:
            raise InvalidDicom("the deflated header is larger than we accept")
        _check_complete(dataset, len(prefix))
    elif complete:
        pixel = _locate_pixel_end(body, pixel, len(prefix))
    return OpenedDicom(
        dataset,
        body,
        len(prefix),
        DeflatedExplicitVRLittleEndian,
        ExplicitVRLittleEndian,
        pixel,
        deflated,
    )


def _read_file_meta(stream: BinaryIO) -> FileMetaDataset:
    """The (0002,eeee) group after the preamble (always explicit VR little endian); leaves
    ``stream`` just after it."""
    size = _stream_size(stream)
    stream.seek(PREAMBLE_LENGTH + 4)
    start = stream.tell()
    while True:
        here = stream.tell()
        chunk = stream.read(8)
        if len(chunk) < 8:
            raise InvalidDicom("the file is truncated (in its file meta information)")
        group, _element, vr = struct.unpack("<HH2s", chunk[:6])
        if group != 0x0002:
            break
        if vr in _LONG_VRS:
            (length,) = struct.unpack("<L", stream.read(4))
        else:
            (length,) = struct.unpack("<H", chunk[6:8])
        if stream.tell() + length > size:
            raise InvalidDicom("the file is truncated (in its file meta information)")
        stream.seek(length, io.SEEK_CUR)
    stream.seek(start)
    try:
        meta = read_dataset(io.BytesIO(stream.read(here - start)), False, True)
    except MemoryError:
        raise
    except Exception as error:  # as above
        raise InvalidDicom(f"unreadable file meta information: {_reason(error)}") from error
    stream.seek(here)
    return FileMetaDataset(meta)


def _inflate(data: bytes, limit: int) -> bytes:
    try:
        return zlib.decompressobj(-zlib.MAX_WBITS).decompress(data, limit)
    except zlib.error as error:
        raise InvalidDicom(f"the deflated data set is corrupt: {error}") from error


def _at_pixel_data(tag: int, _vr: str | None, _length: int) -> bool:
    return tag in PIXEL_KEYWORDS


def _looks_like_bare_dataset(head: bytes) -> bool:
    """A file without preamble must start with a group 0002 or 0008 element (either byte
    order), as every real preamble-less file does; anything else is not worth parsing."""
    if len(head) < 8:
        return False
    little = struct.unpack("<H", head[:2])[0]
    big = struct.unpack(">H", head[:2])[0]
    return little in (0x0002, 0x0008) or big in (0x0002, 0x0008)


def _guessed_syntax(dataset: Dataset) -> UID:
    implicit, little = dataset.original_encoding
    if implicit:
        return ImplicitVRLittleEndian
    return ExplicitVRLittleEndian if little else ExplicitVRBigEndian


def _plausible_syntax(syntax: UID) -> bool:
    return syntax.is_transfer_syntax or syntax.startswith("1.2.840.10008.1.2")


def _check_complete(dataset: Dataset, size: int) -> None:
    """With no pixel data, parsing ran to the end of the file: the last element must end
    exactly there. pydicom accepts a value cut short or a partial tag without complaint."""
    if not dataset:
        return
    last = dataset.get_item(max(dataset.keys()))
    if not isinstance(last, RawDataElement) or last.length == UNDEFINED_LENGTH:
        return  # an undefined-length sequence: pydicom itself reports a truncation there
    end = last.value_tell + last.length
    if end != size:
        raise InvalidDicom("the file is truncated (its last element is incomplete)")


# -- the pixel data element -----------------------------------------------------------------
def _read_pixel_header(stream: BinaryIO, *, implicit: bool, little: bool) -> PixelElement | None:
    """Read the pixel element's tag, VR and length at the current position (where parsing
    with ``stop_before_pixels`` stopped), or None at the end of the data set."""
    start = stream.tell()
    chunk = stream.read(8)
    if len(chunk) < 8:
        return None
    endian = "<" if little else ">"
    group, element = struct.unpack(f"{endian}HH", chunk[:4])
    tag = group << 16 | element
    if tag not in PIXEL_KEYWORDS:
        return None
    vr: str | None = None
    # As pydicom does: two bytes that cannot be a VR mean the writer switched to implicit VR.
    if implicit or not chunk[4:6].isalpha() or not chunk[4:6].isupper():
        (length,) = struct.unpack(f"{endian}L", chunk[4:])
    else:
        vr = chunk[4:6].decode("ascii", errors="replace")
        (length,) = struct.unpack(f"{endian}L", stream.read(4))
    value_offset = stream.tell()
    stream.seek(start)
    return PixelElement(
        keyword=PIXEL_KEYWORDS[tag],
        vr=vr,
        value_offset=value_offset,
        length=None if length == UNDEFINED_LENGTH else length,
        end=value_offset,
    )


def _locate_pixel_end(stream: BinaryIO, pixel: PixelElement, size: int) -> PixelElement:
    if pixel.length is not None:
        end = pixel.value_offset + pixel.length
        if end > size:
            raise InvalidDicom(
                f"the pixel data is truncated: {size - pixel.value_offset} of "
                f"{pixel.length} bytes present"
            )
        return PixelElement(pixel.keyword, pixel.vr, pixel.value_offset, pixel.length, end)
    return PixelElement(
        pixel.keyword, pixel.vr, pixel.value_offset, None, _encapsulated_end(stream, pixel, size)
    )


def _encapsulated_end(stream: BinaryIO, pixel: PixelElement, size: int) -> int:
    """Walk the fragment items (tags and lengths only) to the sequence delimiter."""
    here = stream.tell()
    position = pixel.value_offset
    try:
        while True:
            stream.seek(position)
            chunk = stream.read(8)
            if len(chunk) < 8:
                raise InvalidDicom("the compressed pixel data is truncated")
            group, element, length = struct.unpack("<HHL", chunk)
            tag = group << 16 | element
            position += 8
            if tag == _SEQUENCE_DELIMITER:
                return position
            if tag != _ITEM or length == UNDEFINED_LENGTH:
                raise InvalidDicom("the compressed pixel data is malformed")
            position += length
            if position > size:
                raise InvalidDicom("the compressed pixel data is truncated")
    finally:
        stream.seek(here)


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text[:200]
