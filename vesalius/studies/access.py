"""The one rule for who sees which study, used by the REST API, the web UI, DICOMweb and
DIMSE queries alike: administrators and radiologists see every study; clinicians and
researchers see the studies they sent (their uploads, and what arrived through DICOM nodes
they own, whose sender is the node's owner)."""

from dataclasses import dataclass

from vesalius.accounts.models import Role, User
from vesalius.accounts.permissions import ensure_active

SEE_ALL = frozenset({Role.admin, Role.radiologist})


@dataclass(frozen=True)
class Access:
    """What one caller may see. ``user_id`` None: every study."""

    user_id: int | None

    @classmethod
    def of(cls, user: User) -> "Access":
        ensure_active(user)
        return cls(None if user.role in SEE_ALL else user.id)

    @classmethod
    def everything(cls) -> "Access":
        """The local operator (CLI) and internal jobs."""
        return cls(None)

    @property
    def sees_all(self) -> bool:
        return self.user_id is None
