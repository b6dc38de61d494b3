"""Receiving uploads: the streaming multipart receiver behind ``POST /api/upload``."""

from vesalius.config import Settings
from vesalius.domains import DomainHub
from vesalius.uploads import api


def upload_body_limit(settings: Settings) -> int:
    # Each file is bounded inside the route, where a refusal names the file.
    return settings.max_upload_bytes * settings.max_upload_files + settings.max_body_bytes


def register(hub: DomainHub) -> None:
    hub.router(api.router)
    hub.body_limit("/api/upload", upload_body_limit)
