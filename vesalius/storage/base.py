"""The blob store protocol every backend implements.

Keys are relative, slash-separated paths chosen by us (``originals/2026/11/23/…``); user
input never becomes a key, so keys cannot escape the store.
"""

from collections.abc import Iterator
from typing import BinaryIO, Protocol


class BlobNotFound(KeyError):
    """No blob under that key."""


class BlobWriter(Protocol):
    """Streams one blob in. Nothing is visible under the key until ``commit``."""

    def write(self, data: bytes) -> None: ...

    def commit(self) -> None: ...

    def abort(self) -> None: ...


class BlobStore(Protocol):
    url: str

    def writer(self, key: str, content_type: str = "application/octet-stream") -> BlobWriter: ...

    def put(
        self,
        key: str,
        data: bytes,
        content_type: str = "application/octet-stream",
        *,
        durable: bool = True,
    ) -> None:
        """Store ``data`` under ``key`` atomically. ``durable=False`` is for files that can be
        made again from another blob (previews, thumbnails): they may be lost in a power
        cut (a local store skips the disk flushes), never half-written."""
        ...

    def open(self, key: str) -> BinaryIO:
        """A readable, seekable file object; the caller closes it."""
        ...

    def read(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int: ...

    def delete(self, key: str) -> None:
        """Remove a blob; a missing one is not an error (deletes may be retried)."""
        ...

    def delete_prefix(self, prefix: str) -> int: ...

    def local_path(self, key: str) -> str | None:
        """A filesystem path to the blob when the backend has one (lets readers memory-map)."""
        ...

    def iter_keys(self, prefix: str = "") -> Iterator[str]: ...
