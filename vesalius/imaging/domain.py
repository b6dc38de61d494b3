"""Images: conversion and thumbnail queues, the gallery and the viewer."""

from vesalius.domains import DomainHub, NavEntry
from vesalius.imaging import api


def register(hub: DomainHub) -> None:
    hub.router(api.router)
    hub.queue(
        "dicom",
        concurrency=lambda s: s.dicom_workers,
        description="DICOM decoding, previews and thumbnails",
    )
    hub.queue(
        "thumbnails",
        concurrency=lambda s: s.thumbnail_workers,
        description="previews and thumbnails of ordinary images",
    )
    hub.job(
        "convert_dicom",
        queue="dicom",
        handler="vesalius.imaging.tasks:convert_dicom",
        on_failure="vesalius.imaging.tasks:mark_failed",
        on_retry="vesalius.imaging.tasks:mark_processing",
    )
    hub.job(
        "convert_image",
        queue="thumbnails",
        handler="vesalius.imaging.tasks:convert_image",
        on_failure="vesalius.imaging.tasks:mark_failed",
        on_retry="vesalius.imaging.tasks:mark_processing",
    )
    # Jobs queued before one job did the whole conversion: they convert again from the
    # original (idempotent), which also writes what their missing first step would have.
    hub.job(
        "make_thumbnails",
        queue="thumbnails",
        handler="vesalius.imaging.tasks:convert_image",
        on_failure="vesalius.imaging.tasks:mark_failed",
        on_retry="vesalius.imaging.tasks:mark_processing",
    )
    hub.page("vesalius.ui.gallery:register")
    hub.page("vesalius.ui.viewer:register")
    hub.nav(
        NavEntry(
            "Gallery", "photo_library", "/gallery", section="gallery", hook="nav-gallery", order=10
        )
    )
