"""The one rule for who sees which study, used by the REST API, the web UI, DICOMweb and
DIMSE queries alike: administrators and radiologists see every study; clinicians and
researchers see the studies they sent (their uploads, and what arrived through DICOM nodes
they own, whose sender is the node's owner)."""

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, select

from vesalius.accounts.models import Role, User
from vesalius.accounts.permissions import ensure_active
from vesalius.studies.models import Study, StudySender

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

    def study_condition(self) -> ColumnElement[bool] | None:
        """A condition on ``Study.id``, or None when everything is visible."""
        if self.user_id is None:
            return None
        return Study.id.in_(self._sent())

    def _sent(self) -> Select[int]:
        return select(StudySender.study_pk).where(StudySender.user_id == self.user_id)
