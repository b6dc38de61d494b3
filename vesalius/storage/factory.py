from pathlib import Path
from urllib.parse import urlparse

from vesalius.config import Settings
from vesalius.storage.base import BlobStore
from vesalius.storage.local import LocalBlobStore
from vesalius.storage.s3 import S3BlobStore


def open_blob_store(settings: Settings) -> BlobStore:
    """The blob store ``VESALIUS_STORAGE_URL`` names: ``file:///path`` or ``s3://bucket/prefix``."""
    url = settings.resolved_storage_url
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalBlobStore(Path(parsed.path))
    if parsed.scheme == "s3":
        secret = settings.s3_secret_access_key
        return S3BlobStore(
            parsed.netloc,
            parsed.path,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
        )
    raise ValueError(f"VESALIUS_STORAGE_URL must start with file:// or s3://, not {url!r}")
