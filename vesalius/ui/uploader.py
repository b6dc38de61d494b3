"""Drag-and-drop upload of many files, each with its own progress bar and its own answer.

The files go from the browser straight to ``POST /api/upload``, the one upload path of the
hub: it streams each file to storage as it arrives and checks it there. NiceGUI's ``ui.upload``
is not used because it registers an upload route of its own that reads files into the
server's memory; pointing it elsewhere would still leave that route behind. Quasar's
QUploader is wrapped in a small component (``uploader.js``) instead: one request per file
(so one file's refusal never hides another's success), the server's reason under each
refused file, and an ``accepted`` event with the new image ids for the gallery.
"""

from collections.abc import Awaitable, Callable

from nicegui import ui
from nicegui.element import Element
from nicegui.events import GenericEventArguments

from vesalius.ui.images import Links

# A signed link is valid for one to two hours; refresh it well before, so a page left open
# all day still uploads.
LINK_REFRESH_SECONDS = 20 * 60

Accepted = Callable[[list[int]], Awaitable[None]]


class Uploader(Element, component="uploader.js"):
    def __init__(self, links: Links, on_accepted: Accepted) -> None:
        super().__init__()
        self.links = links
        self._props["url"] = links.upload()
        self._props["label"] = "Upload images"
        self._props["hint"] = (
            "Drop DICOM, PNG, JPEG, TIFF or BMP files here, or use + to choose them. "
            "Each file is checked on arrival and converted in the background."
        )
        self._on_accepted = on_accepted
        self.on("accepted", self._accepted)
        ui.timer(LINK_REFRESH_SECONDS, self._refresh_link)

    async def _accepted(self, event: GenericEventArguments) -> None:
        ids = [int(i) for i in (event.args or {}).get("ids", []) if str(i).isdigit()]
        if ids:
            await self._on_accepted(ids)

    def _refresh_link(self) -> None:
        self._props["url"] = self.links.upload()
        self.update()
