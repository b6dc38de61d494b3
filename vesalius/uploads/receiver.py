"""Receiving one upload request: each file streams to storage while it arrives (hashed on the
way), is checked when it ends, and is either staged for recording or refused with a reason.

A refused file never stops the others. If the request itself breaks (client gone, malformed
body), every blob this request wrote is removed again.
"""

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import anyio
from starlette.requests import Request

from vesalius.context import AppContext
from vesalius.imaging.dicom import DicomSummary, InvalidDicom, read_summary, sniff_is_dicom
from vesalius.imaging.raster import RasterInfo, read_raster_info, sniff_raster
from vesalius.imaging.render import CorruptImage, ImageTooLarge
from vesalius.uploads.multipart import MultipartStream, PartData, PartEnd, PartStart
from vesalius.uploads.names import declared_type, safe_filename

if TYPE_CHECKING:
    from vesalius.storage import BlobWriter

HEAD_BYTES = 132  # DICOM's preamble + "DICM"; every raster magic is shorter
WRITE_BATCH = 1024 * 1024  # hand data to the storage thread a megabyte at a time
TYPE_NAMES = {
    "dcm": "a DICOM file",
    "png": "a PNG image",
    "jpg": "a JPEG image",
    "tif": "a TIFF image",
    "bmp": "a BMP image",
}


@dataclass(frozen=True)
class Rejection:
    filename: str
    code: str
    message: str
    status: int


@dataclass
class StagedFile:
    filename: str
    key: str
    size: int
    sha256: str
    file_type: str
    dicom: DicomSummary | None = None
    raster: RasterInfo | None = None


@dataclass
class _Incoming:
    filename: str
    key: str
    writer: "BlobWriter"
    hasher: "hashlib._Hash" = field(default_factory=hashlib.sha256)
    size: int = 0
    head: bytearray = field(default_factory=bytearray)
    pending: bytearray = field(default_factory=bytearray)
    detected: str | None = None
    sniffed: bool = False

    def flush(self) -> None:
        """Runs in a worker thread: hashing and disk or network writes stay off the event loop."""
        if self.pending:
            data = bytes(self.pending)
            self.pending.clear()
            self.hasher.update(data)
            self.writer.write(data)


def new_original_key() -> str:
    now = datetime.now(UTC)
    return f"originals/{now:%Y/%m/%d}/{uuid.uuid4().hex}"


class UploadReceiver:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.staged: list[StagedFile] = []
        self.rejected: list[Rejection] = []
        self._files_seen = 0
        self._current: _Incoming | None = None
        self._skipping = False

    async def receive(self, request: Request) -> None:
        stream = MultipartStream(request.headers.get("content-type"))
        try:
            async for chunk in request.stream():
                for event in stream.feed(chunk):
                    await self._handle(event)
            for event in stream.finish():
                await self._handle(event)
        except BaseException:
            await anyio.to_thread.run_sync(self.discard_all)
            raise

    async def _handle(self, event: PartStart | PartData | PartEnd) -> None:
        if isinstance(event, PartStart):
            self._start(event)
        elif isinstance(event, PartData):
            if self._current is not None and not self._skipping:
                await self._take(self._current, event.data)
        elif self._current is not None:
            incoming, self._current = self._current, None
            if not self._skipping:
                await anyio.to_thread.run_sync(self._finish, incoming)
            self._skipping = False

    def _start(self, part: PartStart) -> None:
        self._skipping = False
        if part.filename is None:  # a plain form field: not a file, nothing to store
            self._current = None
            return
        name = safe_filename(part.filename)
        self._files_seen += 1
        if self._files_seen > self.ctx.settings.max_upload_files:
            self._refuse_now(
                name,
                "too_many_files",
                f"at most {self.ctx.settings.max_upload_files} files per upload",
                413,
            )
            return
        key = new_original_key()
        self._current = _Incoming(filename=name, key=key, writer=self.ctx.blobs.writer(key))

    def _refuse_now(self, name: str, code: str, message: str, status: int) -> None:
        self.rejected.append(Rejection(name, code, message, status))
        self._skipping = True

    async def _take(self, incoming: _Incoming, data: bytes) -> None:
        incoming.size += len(data)
        limit = self.ctx.settings.max_upload_bytes
        if incoming.size > limit:
            self._refuse_now(
                incoming.filename, "file_too_large", f"larger than the limit of {limit} bytes", 413
            )
            await anyio.to_thread.run_sync(incoming.writer.abort)
            return
        if not incoming.sniffed:
            incoming.head += data[: HEAD_BYTES - len(incoming.head)]
            if len(incoming.head) >= HEAD_BYTES:
                refusal = self._sniff(incoming)
                if refusal is not None:
                    self.rejected.append(refusal)
                    self._skipping = True
                    await anyio.to_thread.run_sync(incoming.writer.abort)
                    return
        incoming.pending += data
        if len(incoming.pending) >= WRITE_BATCH:
            await anyio.to_thread.run_sync(incoming.flush)

    def _sniff(self, incoming: _Incoming) -> Rejection | None:
        """Decide from the first bytes what the file is, and refuse a name that lies about it."""
        incoming.sniffed = True
        head = bytes(incoming.head)
        incoming.detected = "dcm" if sniff_is_dicom(head) else sniff_raster(head)
        promised = declared_type(incoming.filename)
        if promised is not None and incoming.detected is not None and promised != incoming.detected:
            return Rejection(
                incoming.filename,
                "content_mismatch",
                f"the name says {TYPE_NAMES[promised]} "
                f"but the content is {TYPE_NAMES[incoming.detected]}",
                415,
            )
        if incoming.detected is None and promised not in (None, "dcm"):
            assert promised is not None
            return Rejection(
                incoming.filename,
                "content_mismatch",
                f"the name says {TYPE_NAMES[promised]} but the content is not one",
                415,
            )
        return None

    def _finish(self, incoming: _Incoming) -> None:
        """Runs in a worker thread: commit the blob, then prove the content is what it claims."""
        if incoming.size == 0:
            incoming.writer.abort()
            self.rejected.append(
                Rejection(incoming.filename, "empty_file", "the file is empty", 400)
            )
            return
        if not incoming.sniffed:
            refusal = self._sniff(incoming)
            if refusal is not None:
                incoming.writer.abort()
                self.rejected.append(refusal)
                return
        incoming.flush()
        incoming.writer.commit()
        refusal, staged = self._validate(incoming)
        if refusal is not None:
            self.ctx.blobs.delete(incoming.key)
            self.rejected.append(refusal)
        else:
            assert staged is not None
            self.staged.append(staged)

    def _validate(self, incoming: _Incoming) -> tuple[Rejection | None, StagedFile | None]:
        name = incoming.filename
        max_pixels = self.ctx.settings.max_image_pixels
        staged = StagedFile(
            filename=name,
            key=incoming.key,
            size=incoming.size,
            sha256=incoming.hasher.hexdigest(),
            file_type="dcm",
        )
        if incoming.detected in (None, "dcm"):
            try:
                with self.ctx.blobs.open(incoming.key) as handle:
                    summary = read_summary(handle)
            except InvalidDicom as error:
                if incoming.detected is None:
                    return Rejection(
                        name,
                        "unsupported_file_type",
                        "not a DICOM file or a PNG, JPEG, TIFF or BMP image",
                        415,
                    ), None
                return Rejection(
                    name, "invalid_dicom", f"not a usable DICOM file: {error}", 422
                ), None
            if not summary.has_pixels:
                return Rejection(
                    name, "no_pixel_data", "this DICOM object holds no image (no pixel data)", 422
                ), None
            if (summary.rows or 0) * (summary.columns or 0) > max_pixels:
                return Rejection(
                    name, "image_too_large", f"more than {max_pixels} pixels per frame", 422
                ), None
            staged.dicom = summary
            return None, staged
        try:
            with self.ctx.blobs.open(incoming.key) as handle:
                info = read_raster_info(handle, max_pixels=max_pixels)
        except ImageTooLarge as error:
            return Rejection(name, "image_too_large", str(error), 422), None
        except CorruptImage as error:
            return Rejection(name, "corrupt_image", f"the image cannot be read: {error}", 422), None
        staged.file_type = incoming.detected
        staged.raster = info
        return None, staged

    def discard_all(self) -> None:
        """The request failed as a whole: remove every blob it stored."""
        if self._current is not None:
            self._current.writer.abort()
        for staged in self.staged:
            self.ctx.blobs.delete(staged.key)
        self.staged.clear()
