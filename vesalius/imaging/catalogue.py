"""The extension point through which another domain catalogues DICOM instances as they are
recorded, without imaging importing it: the studies domain registers a ``Catalogue``
component (``hub.component(Catalogue, …)``); imaging asks ``catalogue_of(ctx)`` and gets a
catalogue that does nothing when none is registered.

Every way DICOM arrives (upload, STOW-RS, C-STORE, tus) passes a ``Sender`` saying who sent it
and how, so the catalogue can answer who may see what.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from sqlalchemy.orm import Session

from vesalius.domains import hub

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

    from vesalius.accounts.models import User
    from vesalius.context import AppContext
    from vesalius.imaging.models import Image

Via = Literal["upload", "stow", "c-store"]


@dataclass(frozen=True)
class Sender:
    owner_id: int
    via: Via = "upload"
    calling_ae: str | None = None


class Catalogue(Protocol):
    def stored_image_id(
        self, session: Session, sop_instance_uid: str, sender: Sender
    ) -> int | None:
        """The image of ``sender``'s owner already holding this SOP Instance UID, if any.
        Another user's copy does not count: their upload must stay in their own gallery."""
        ...

    def note_sent(self, session: Session, image_id: int, sender: Sender) -> None:
        """``sender`` sent an instance that was already stored: they now see its study."""
        ...

    def record(
        self,
        session: Session,
        images: "list[Image]",
        sender: Sender,
        headers: "list[Dataset | None] | None" = None,
    ) -> None:
        """Catalogue new DICOM image rows (flushed, same transaction). ``headers``: each
        image's parsed header when the caller has it (else it is read from the blob)."""
        ...

    def forget(self, session: Session, image_id: int) -> None:
        """The image is being deleted: drop its instance and fix the counts."""
        ...

    def may_see(self, session: Session, actor: "User", image: "Image") -> bool:
        """True when ``actor`` sees the image through a study they may see."""
        ...


class NoCatalogue:
    def stored_image_id(
        self, session: Session, sop_instance_uid: str, sender: Sender
    ) -> int | None:
        return None

    def note_sent(self, session: Session, image_id: int, sender: Sender) -> None:
        pass

    def record(
        self,
        session: Session,
        images: "list[Image]",
        sender: Sender,
        headers: "list[Dataset | None] | None" = None,
    ) -> None:
        pass

    def forget(self, session: Session, image_id: int) -> None:
        pass

    def may_see(self, session: Session, actor: "User", image: "Image") -> bool:
        return False


_NONE = NoCatalogue()


def catalogue_of(ctx: "AppContext") -> Catalogue:
    if Catalogue not in hub().components:
        return _NONE
    return ctx.component(Catalogue)  # type: ignore[type-abstract]
