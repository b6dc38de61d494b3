"""The UI's sign-in state without a browser: token rotation, lost sessions, safe redirects."""

import asyncio
from collections.abc import MutableMapping
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.conftest import PASSWORD, MakeUser
from vesalius.accounts.deps import Principal
from vesalius.accounts.models import Role
from vesalius.accounts.service import UserService
from vesalius.accounts.sessions import AuthService, Client
from vesalius.accounts.tokens import AccessTokens
from vesalius.common.errors import Forbidden
from vesalius.context import AppContext
from vesalius.ui.session import TOKENS_KEY, SignIn, SignInRequired, login_url, safe_next


class MemorySignIn(SignIn):
    """The UI's sign-in with a plain dict standing in for NiceGUI's per-browser storage."""

    def __init__(self, ctx: AppContext, store: dict[str, Any]) -> None:
        super().__init__(ctx, Client(ip="127.0.0.1", user_agent="pytest"))
        self.store = store

    def storage(self) -> MutableMapping[str, Any]:
        return self.store

    def browser_id(self) -> str:
        return f"browser-{id(self.store)}"


def whoami(_session: Session, principal: Principal) -> str:
    return principal.user.email


def signed_in(ctx: AppContext, email: str) -> dict[str, Any]:
    store: dict[str, Any] = {}
    asyncio.run(MemorySignIn(ctx, store).login(email, PASSWORD, None))
    return store


def expire_access_token(ctx: AppContext, store: dict[str, Any]) -> None:
    claims = ctx.access_tokens.decode(store[TOKENS_KEY]["access"])
    store[TOKENS_KEY]["access"] = AccessTokens(ctx.keys, timedelta(minutes=-1)).issue(
        user_id=claims.user_id, role=claims.role, session_id=claims.session_id
    )


def test_work_runs_as_the_signed_in_user(ctx: AppContext, make_user: MakeUser) -> None:
    user = make_user(Role.radiologist)
    store = signed_in(ctx, user.email)
    assert asyncio.run(MemorySignIn(ctx, store).call(whoami)) == user.email
    viewer = asyncio.run(MemorySignIn(ctx, store).viewer())
    assert viewer is not None
    assert (viewer.email, viewer.role, viewer.is_admin) == (user.email, Role.radiologist, False)


def test_expired_access_token_is_rotated_once_for_pages_asking_together(
    ctx: AppContext, make_user: MakeUser
) -> None:
    user = make_user()
    store = signed_in(ctx, user.email)
    expire_access_token(ctx, store)
    spent = store[TOKENS_KEY]["refresh"]

    async def two_pages() -> list[str]:
        return await asyncio.gather(
            MemorySignIn(ctx, store).call(whoami), MemorySignIn(ctx, store).call(whoami)
        )

    assert asyncio.run(two_pages()) == [user.email, user.email]
    assert store[TOKENS_KEY]["refresh"] != spent
    # Had both pages spent the same refresh token, theft detection would have ended the
    # session; it is still alive.
    assert asyncio.run(MemorySignIn(ctx, store).call(whoami)) == user.email


def test_ended_session_forgets_the_tokens(ctx: AppContext, make_user: MakeUser) -> None:
    user = make_user()
    store = signed_in(ctx, user.email)
    with ctx.db.session() as session:  # e.g. signed out from another device
        AuthService(ctx, session).logout(session_id=store[TOKENS_KEY]["session_id"])
    with pytest.raises(SignInRequired):
        asyncio.run(MemorySignIn(ctx, store).call(whoami))
    assert store == {}
    assert asyncio.run(MemorySignIn(ctx, store).viewer()) is None


def test_refusals_from_the_work_keep_the_sign_in(ctx: AppContext, make_user: MakeUser) -> None:
    user = make_user(Role.clinician)
    store = signed_in(ctx, user.email)

    def list_users(session: Session, principal: Principal) -> object:
        return UserService(ctx, session).list_users(principal.user)

    with pytest.raises(Forbidden) as refusal:
        asyncio.run(MemorySignIn(ctx, store).call(list_users))
    assert refusal.value.code == "insufficient_role"
    assert TOKENS_KEY in store


def test_logout_ends_the_session_in_the_database(ctx: AppContext, make_user: MakeUser) -> None:
    user = make_user()
    store = signed_in(ctx, user.email)
    access = store[TOKENS_KEY]["access"]
    asyncio.run(MemorySignIn(ctx, store).logout())
    assert store == {}
    with ctx.db.read_session() as session, pytest.raises(Exception, match="ended"):
        AuthService(ctx, session).authenticate(access)


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ("/admin/users?q=rita", "/admin/users?q=rita"),
        ("/analytics", "/analytics"),
        (None, "/gallery"),
        ("", "/gallery"),
        ("//evil.example/steal", "/gallery"),
        ("/\\evil.example", "/gallery"),
        ("https://evil.example/", "/gallery"),
        ("javascript:alert(1)", "/gallery"),
        ("/login?next=/login", "/gallery"),
        ("/gallery\r\nSet-Cookie: x=1", "/gallery"),
    ],
)
def test_only_local_paths_are_followed_after_sign_in(requested: str | None, expected: str) -> None:
    assert safe_next(requested) == expected


def test_login_url_comes_back_to_the_page() -> None:
    assert (
        login_url("http://hub.local/admin/users?q=a b") == "/login?next=%2Fadmin%2Fusers%3Fq%3Da+b"
    )
    assert login_url("/gallery") == "/login?next=%2Fgallery"
