"""Blobs as files under one folder. Writes are atomic: temp file, fsync, rename."""

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from vesalius.storage.base import BlobNotFound

# Flush to disk every so often while streaming, so the final fsync after the last byte (which
# the uploader waits for) has little left to do.
SYNC_EVERY_BYTES = 8 * 1024 * 1024


def _check_key(key: str) -> None:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\\" in key:
        raise ValueError(f"invalid blob key: {key!r}")


class LocalFileWriter:
    def __init__(self, root: Path, key: str) -> None:
        self._final = root / key
        self._final.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=self._final.parent, prefix=".incoming-")
        self._temp = Path(temp)
        self._file = os.fdopen(fd, "wb")
        self._unsynced = 0
        self._done = False

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self._unsynced += len(data)
        if self._unsynced >= SYNC_EVERY_BYTES:
            self._file.flush()
            os.fdatasync(self._file.fileno())
            self._unsynced = 0

    def commit(self, *, durable: bool = True) -> None:
        self._file.flush()
        if not durable:
            # Renamed into place whole, but left to the kernel to write out: two fsyncs cost
            # ~6 ms a file on this disk, more than converting a CT slice.
            self._file.close()
            self._temp.replace(self._final)
            self._done = True
            return
        os.fsync(self._file.fileno())
        self._file.close()
        self._temp.replace(self._final)
        # The rename itself must survive a crash too.
        dir_fd = os.open(self._final.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        self._done = True

    def abort(self) -> None:
        if self._done:
            return
        self._file.close()
        self._temp.unlink(missing_ok=True)
        self._done = True


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.url = f"file://{root}"

    def _path(self, key: str) -> Path:
        _check_key(key)
        return self.root / key

    def writer(self, key: str, content_type: str = "application/octet-stream") -> LocalFileWriter:
        _check_key(key)
        return LocalFileWriter(self.root, key)

    def put(
        self,
        key: str,
        data: bytes,
        content_type: str = "application/octet-stream",
        *,
        durable: bool = True,
    ) -> None:
        writer = self.writer(key, content_type)
        try:
            writer.write(data)
            writer.commit(durable=durable)
        except BaseException:
            writer.abort()
            raise

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError:
            raise BlobNotFound(key) from None

    def read(self, key: str) -> bytes:
        with self.open(key) as handle:
            return handle.read()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise BlobNotFound(key) from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> int:
        target = self._path(prefix.rstrip("/"))
        if target.is_dir():
            count = sum(1 for p in target.rglob("*") if p.is_file())
            shutil.rmtree(target, ignore_errors=True)
            return count
        return 0

    def local_path(self, key: str) -> str | None:
        return str(self._path(key))

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        base = self.root / prefix if prefix else self.root
        if not base.exists():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file() and not path.name.startswith(".incoming-"):
                yield path.relative_to(self.root).as_posix()

    def used_bytes(self) -> int:
        total = 0
        for path in self.root.rglob("*"):
            with contextlib.suppress(FileNotFoundError):
                if path.is_file():
                    total += path.stat().st_size
        return total
