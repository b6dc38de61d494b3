"""Where files live: a local folder (embedded mode) or S3-compatible storage (scaled mode)."""

from vesalius.storage.base import BlobNotFound, BlobStore, BlobWriter
from vesalius.storage.factory import open_blob_store

__all__ = ["BlobNotFound", "BlobStore", "BlobWriter", "open_blob_store"]
