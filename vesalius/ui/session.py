"""The browser's sign-in for the web UI.

The UI signs in through the same ``AuthService`` as the REST API and keeps the resulting
access and refresh tokens in ``app.storage.user``: server-side storage (files in the data
dir, or Redis when several API machines share sessions) keyed by a signed session cookie,
so the tokens never reach the browser. Every page and every action re-checks the access
token, and the acting user is loaded in the same database session as the work, so the
services' own permission checks always see the user's current role and status.
"""

import asyncio
import weakref
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

from nicegui import app, run, ui
from sqlalchemy.orm import Session

from vesalius.accounts.deps import Principal
from vesalius.accounts.models import Role, User
from vesalius.accounts.sessions import AuthService, Client, IssuedTokens
from vesalius.common.errors import AppError, Unauthorized
from vesalius.context import AppContext

T = TypeVar("T")
Work = Callable[[Session, Principal], T]

HOME = "/gallery"
LOGIN = "/login"
TOKENS_KEY = "auth"

# One lock per browser session: two tabs finding the access token expired at the same moment
# must not both spend the refresh token, or the second looks like theft and ends the session.
_refresh_locks: "weakref.WeakValueDictionary[str, asyncio.Lock]" = weakref.WeakValueDictionary()


class SignInRequired(Unauthorized):
    def __init__(self) -> None:
        super().__init__("your session has ended; please sign in again", code="sign_in_required")


@dataclass
class Viewer:
    """The signed-in user as a page saw them when it was built (not a database row)."""

    id: int
    email: str
    display_name: str
    role: Role
    totp_enabled: bool

    @classmethod
    def of(cls, user: User) -> "Viewer":
        return cls(user.id, user.email, user.display_name, user.role, user.totp_enabled)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin


@dataclass(frozen=True)
class StoredTokens:
    access: str
    refresh: str
    session_id: str


class _AccessRefused(Exception):
    """The access token did not authenticate (as opposed to the work itself failing)."""

    def __init__(self, error: AppError) -> None:
        super().__init__(error.code)
        self.error = error


async def off_loop(function: Callable[[], T]) -> T:
    """Run blocking work (the database) in NiceGUI's thread pool, keeping the event loop free.

    ``run.io_bound`` answers None when the app is shutting down; the work never ran then.
    """
    boxed = await run.io_bound(lambda: (function(),))
    if boxed is None:
        raise asyncio.CancelledError
    return boxed[0]


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a path on this site, never another origin."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return HOME
    if any(ord(char) < 0x20 for char in target):
        return HOME
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path == LOGIN:
        return HOME
    return target


def login_url(current: str) -> str:
    """The login page, coming back to ``current`` (a path or this site's full URL)."""
    parts = urlsplit(current)
    here = parts.path + (f"?{parts.query}" if parts.query else "")
    return f"{LOGIN}?{urlencode({'next': safe_next(here)})}"


def client_of_page() -> Client:
    request = ui.context.client.request
    return Client(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


class SignIn:
    """Sign-in state of the browser behind the current page.

    ``client`` is that browser as the services see it (address, user agent), for login
    throttling and the session list.
    """

    def __init__(self, ctx: AppContext, client: Client) -> None:
        self.ctx = ctx
        self.client = client

    def storage(self) -> MutableMapping[str, Any]:
        """Server-side storage of this browser, shared by all its tabs."""
        return app.storage.user

    def browser_id(self) -> str:
        return str(app.storage.browser["id"])

    # -- signing in and out ---------------------------------------------------------------
    async def login(self, email: str, password: str, totp_code: str | None) -> None:
        """Raises the service's errors (``totp_required``, ``invalid_credentials`` …)."""
        issued = await off_loop(partial(self._login, email, password, totp_code))
        self._store(issued)

    async def logout(self) -> None:
        tokens = self._stored()
        # Forget first: even if the database is unreachable, this browser is signed out.
        self.forget()
        if tokens is not None:
            await off_loop(partial(self._logout, tokens.session_id))

    def forget(self) -> None:
        self.storage().clear()

    # -- acting as the signed-in user -----------------------------------------------------
    async def viewer(self) -> Viewer | None:
        """Who is signed in, or None (then the page sends the browser to the login page)."""
        try:
            return await self.call(lambda _session, principal: Viewer.of(principal.user))
        except SignInRequired:
            return None

    async def call(self, work: Work[T], *, write: bool = False) -> T:
        """Run ``work(session, principal)`` in a thread as the signed-in user.

        An expired access token is exchanged for a new pair once; any other failure to
        authenticate forgets the tokens and raises ``SignInRequired``. Errors from the work
        itself (Forbidden, Conflict …) are raised unchanged for the page to show.
        """
        tokens = self._stored()
        if tokens is None:
            raise SignInRequired
        try:
            return await off_loop(partial(self._run_as, tokens.access, work, write))
        except _AccessRefused as refused:
            if refused.error.code != "token_expired":
                self.forget()
                raise SignInRequired from refused.error
        tokens = await self._rotate(tokens)
        try:
            return await off_loop(partial(self._run_as, tokens.access, work, write))
        except _AccessRefused as refused:
            self.forget()
            raise SignInRequired from refused.error

    async def _rotate(self, stale: StoredTokens) -> StoredTokens:
        lock = _refresh_locks.setdefault(self.browser_id(), asyncio.Lock())
        async with lock:
            current = self._stored()
            if current is None:
                raise SignInRequired
            if current.refresh != stale.refresh:
                return current  # another page of this browser has just rotated them
            try:
                issued = await off_loop(partial(self._refresh, current.refresh))
            except AppError as error:
                self.forget()
                raise SignInRequired from error
            return self._store(issued)

    # -- token storage --------------------------------------------------------------------
    def _stored(self) -> StoredTokens | None:
        saved: Any = self.storage().get(TOKENS_KEY)
        if not isinstance(saved, dict):
            return None
        try:
            return StoredTokens(saved["access"], saved["refresh"], saved["session_id"])
        except KeyError:
            return None

    def _store(self, issued: IssuedTokens) -> StoredTokens:
        tokens = StoredTokens(issued.access_token, issued.refresh_token, issued.session_id)
        self.storage()[TOKENS_KEY] = {
            "access": tokens.access,
            "refresh": tokens.refresh,
            "session_id": tokens.session_id,
        }
        return tokens

    # -- in the worker thread: each opens its own database session ------------------------
    def _login(self, email: str, password: str, totp_code: str | None) -> IssuedTokens:
        with self.ctx.db.session() as session:
            return AuthService(self.ctx, session).login(email, password, totp_code, self.client)

    def _refresh(self, refresh_token: str) -> IssuedTokens:
        with self.ctx.db.session() as session:
            return AuthService(self.ctx, session).refresh(refresh_token, self.client)

    def _logout(self, session_id: str) -> None:
        with self.ctx.db.session() as session:
            AuthService(self.ctx, session).logout(session_id=session_id)

    def _run_as(self, access_token: str, work: Work[T], write: bool) -> T:
        open_session = self.ctx.db.session if write else self.ctx.db.read_session
        with open_session() as session:
            try:
                user, session_id = AuthService(self.ctx, session).authenticate(access_token)
            except AppError as error:
                raise _AccessRefused(error) from error
            return work(session, Principal(user=user, session_id=session_id))
