"""Who is on the other end of a long-lived stream or socket.

Long-lived responses must not use the request-scoped session dependencies: those hold a
database transaction (and, on SQLite, a WAL snapshot) open until the response ends, which for
an event stream is hours. These helpers check the token in a short session of their own.
"""

import anyio
from fastapi import Request

from vesalius.accounts.models import User
from vesalius.accounts.sessions import AuthService
from vesalius.common.errors import Unauthorized
from vesalius.context import AppContext


def user_for_token(ctx: AppContext, token: str) -> User:
    """The active user an access token belongs to; raises ``Unauthorized``/``Forbidden``."""
    with ctx.db.read_session() as session:
        user, _session_id = AuthService(ctx, session).authenticate(token)
        session.expunge(user)
        return user


def stream_token(request: Request) -> str:
    """``Authorization: Bearer …``, or ``?token=`` for clients that cannot send headers
    (a browser's ``EventSource``, a ``WebSocket``)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    query = request.query_params.get("token", "").strip()
    if query:
        return query
    raise Unauthorized(
        "sign in first: send Authorization: Bearer <token> (or ?token=)",
        code="not_authenticated",
    )


async def stream_user(request: Request, ctx: AppContext) -> User:
    token = stream_token(request)
    user = await anyio.to_thread.run_sync(user_for_token, ctx, token)
    request.state.user_id = user.id
    return user
