"""Who is calling: ``CurrentUser`` and ``AdminUser`` for routers."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from vesalius.accounts.models import Role, User
from vesalius.accounts.permissions import ensure_active, ensure_role
from vesalius.accounts.sessions import AuthService
from vesalius.accounts.signed_urls import verify
from vesalius.common.errors import Unauthorized
from vesalius.deps import ContextDep, ReadSessionDep


@dataclass(frozen=True)
class Principal:
    user: User
    session_id: str


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "sign in first: send Authorization: Bearer <token>", code="not_authenticated"
        )
    return token.strip()


def get_principal(request: Request, ctx: ContextDep, session: ReadSessionDep) -> Principal:
    """Checks the bearer token in the request's read session (never a write lock).

    A read route asking for ``ReadSessionDep`` gets that same session, so the check and the
    route's query share one connection and one transaction.
    """
    token = bearer_token(request)
    user, session_id = AuthService(ctx, session).authenticate(token)
    _release_unless_reading(request, session)
    request.state.user_id = user.id
    return Principal(user=user, session_id=session_id)


def _release_unless_reading(request: Request, session: Session) -> None:
    """A request that writes works in its own write session and may run for minutes (an
    upload): end the read transaction now instead of holding it open all that time. The
    user object is detached first so ending the transaction does not expire it."""
    if request.method not in ("GET", "HEAD"):
        session.expunge_all()
        session.rollback()


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def get_current_user(principal: PrincipalDep) -> User:
    return principal.user


CurrentUser = Annotated[User, Depends(get_current_user)]


def get_viewer(request: Request, ctx: ContextDep, session: ReadSessionDep) -> User:
    """A bearer token, or a signed link (see signed_urls): for file routes that an ``<img>``
    tag fetches and for the web UI's uploader, neither of which can send a header."""
    params = request.query_params
    if "sig" not in params:
        return get_principal(request, ctx, session).user
    signed = verify(
        ctx.keys, request.url.path, params.get("u"), params.get("exp"), params.get("sig")
    )
    user = session.get(User, signed.user_id)
    if user is None:
        raise Unauthorized("signed link is not valid", code="invalid_signature")
    ensure_active(user)
    _release_unless_reading(request, session)
    request.state.user_id = user.id
    return user


ViewerUser = Annotated[User, Depends(get_viewer)]


async def get_admin(user: CurrentUser) -> User:
    ensure_role(user, Role.admin)
    return user


AdminUser = Annotated[User, Depends(get_admin)]
