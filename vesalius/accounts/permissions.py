"""Role checks shared by the REST API and the web UI: services call these with the actor."""

from vesalius.accounts.models import Role, User, UserStatus
from vesalius.common.errors import Forbidden


def ensure_active(user: User) -> None:
    if user.status == UserStatus.disabled:
        raise Forbidden("this account is disabled", code="account_disabled")
    if user.status == UserStatus.pending:
        raise Forbidden("this account is waiting for approval", code="account_pending")


def ensure_role(user: User, *roles: Role) -> None:
    ensure_active(user)
    if user.role not in roles:
        allowed = ", ".join(sorted(r.value for r in roles))
        raise Forbidden(f"this needs one of the roles: {allowed}", code="insufficient_role")


def ensure_admin(user: User | None) -> None:
    """``None`` is the local operator at the command line, who may do anything."""
    if user is not None:
        ensure_role(user, Role.admin)


def is_admin(user: User) -> bool:
    return user.role == Role.admin and user.status == UserStatus.active
