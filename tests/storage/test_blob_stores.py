"""The same behaviour from the local folder and from S3 (moto's server over HTTP)."""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import S3Server
from vesalius.storage import BlobNotFound, BlobStore
from vesalius.storage.local import LocalBlobStore
from vesalius.storage.s3 import PART_SIZE, S3BlobStore


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "local":
        yield LocalBlobStore(tmp_path / "blobs")
        return
    server: S3Server = request.getfixturevalue("s3")
    bucket = f"b-{uuid.uuid4().hex[:10]}"
    server.create_bucket(bucket)
    yield S3BlobStore(
        bucket,
        "prefix/inner",
        endpoint_url=server.endpoint,
        access_key_id=server.access_key,
        secret_access_key=server.secret_key,
    )


def test_put_read_size_exists_delete(store: BlobStore) -> None:
    store.put("a/b/c.bin", b"hello")
    assert store.exists("a/b/c.bin")
    assert store.read("a/b/c.bin") == b"hello"
    assert store.size("a/b/c.bin") == 5
    with store.open("a/b/c.bin") as handle:
        handle.seek(1)
        assert handle.read(3) == b"ell"
    store.delete("a/b/c.bin")
    assert not store.exists("a/b/c.bin")
    store.delete("a/b/c.bin")  # deleting twice is fine: deletes are retried
    with pytest.raises(BlobNotFound):
        store.read("a/b/c.bin")
    with pytest.raises(BlobNotFound):
        store.size("missing")


def test_streamed_writer_is_invisible_until_commit(store: BlobStore) -> None:
    payload = os.urandom(PART_SIZE + 12345)  # more than one multipart part on S3
    writer = store.writer("big/file")
    for start in range(0, len(payload), 1_000_000):
        writer.write(payload[start : start + 1_000_000])
    assert not store.exists("big/file")
    writer.commit()
    assert store.read("big/file") == payload


def test_aborted_writer_leaves_nothing(store: BlobStore) -> None:
    writer = store.writer("gone/file")
    writer.write(os.urandom(PART_SIZE + 1))
    writer.abort()
    assert not store.exists("gone/file")
    assert list(store.iter_keys("gone/")) == []


def test_prefix_listing_and_delete(store: BlobStore) -> None:
    for name in ("x/1", "x/2", "x/deeper/3", "y/1"):
        store.put(name, name.encode())
    assert sorted(store.iter_keys("x/")) == ["x/1", "x/2", "x/deeper/3"]
    assert store.delete_prefix("x/") == 3
    assert list(store.iter_keys("x/")) == []
    assert store.exists("y/1")


@pytest.mark.parametrize("key", ["", "/abs", "../escape", "a/../../b", "a//b"])
def test_keys_cannot_escape(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError, match="invalid blob key"):
        LocalBlobStore(tmp_path).put(key, b"x")


def test_local_writes_are_atomic_files(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    writer = store.writer("k")
    writer.write(b"partial")
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] != ["k"]
    writer.commit()
    assert (tmp_path / "k").read_bytes() == b"partial"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".incoming-")]
