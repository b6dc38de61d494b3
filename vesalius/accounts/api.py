from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from vesalius.accounts.deps import AdminUser, CurrentUser, PrincipalDep, get_principal
from vesalius.accounts.models import Role, UserStatus
from vesalius.accounts.schemas import (
    LoginIn,
    LogoutIn,
    PasswordChangeIn,
    RefreshIn,
    TokensOut,
    TotpSetupOut,
    TotpVerifyIn,
    UserCreatedOut,
    UserCreateIn,
    UserOut,
    UserPageOut,
    UserUpdateIn,
)
from vesalius.accounts.service import UserService
from vesalius.accounts.sessions import AuthService, IssuedTokens
from vesalius.common.errors import Unauthorized
from vesalius.common.schemas import model_response
from vesalius.deps import ClientDep, ContextDep, ReadSessionDep, SessionDep

auth = APIRouter(prefix="/api/auth", tags=["auth"])
admin_users = APIRouter(prefix="/api/admin/users", tags=["admin"])


def _tokens_out(tokens: IssuedTokens) -> TokensOut:
    return TokensOut(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
        refresh_expires_in=tokens.refresh_expires_in,
        user=UserOut.model_validate(tokens.user),
    )


@auth.post("/login", response_model=TokensOut)
def login(body: LoginIn, ctx: ContextDep, session: SessionDep, client: ClientDep) -> TokensOut:
    """Exchange email + password (+ TOTP code when enabled) for tokens.

    401 ``invalid_credentials`` never says which part was wrong; 401 ``totp_required`` asks
    for the second factor; 429 ``too_many_attempts`` carries ``Retry-After``.
    """
    tokens = AuthService(ctx, session).login(body.email, body.password, body.totp_code, client)
    return _tokens_out(tokens)


@auth.post("/refresh", response_model=TokensOut)
def refresh(body: RefreshIn, ctx: ContextDep, session: SessionDep, client: ClientDep) -> TokensOut:
    """Rotate: the refresh token is spent and a new pair returned. Re-using a spent token
    ends the whole session (401 ``refresh_token_reused``)."""
    return _tokens_out(AuthService(ctx, session).refresh(body.refresh_token, client))


@auth.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(
    request: Request, ctx: ContextDep, session: SessionDep, body: LogoutIn | None = None
) -> None:
    """End a session: its access and refresh tokens stop working at once.

    Names the session by the bearer token, or by ``refreshToken`` in the body (for a client
    whose access token has already expired).
    """
    service = AuthService(ctx, session)
    if request.headers.get("authorization"):
        with ctx.db.read_session() as reading:
            service.logout(session_id=get_principal(request, ctx, reading).session_id)
    elif body is not None and body.refresh_token:
        service.logout(refresh_token=body.refresh_token)
    else:
        raise Unauthorized("send a bearer token or a refreshToken", code="not_authenticated")


@auth.get("/me", response_model=UserOut)
async def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)


@auth.post("/password", status_code=status.HTTP_204_NO_CONTENT)
def change_password(
    body: PasswordChangeIn, principal: PrincipalDep, ctx: ContextDep, session: SessionDep
) -> None:
    """Change the caller's password; every other session of theirs is ended."""
    users = UserService(ctx, session)
    users.change_password(
        users.get(principal.user.id),
        current=body.current_password,
        new=body.new_password,
        keep_session=principal.session_id,
    )


@auth.post("/totp/setup", response_model=TotpSetupOut)
def totp_setup(user: CurrentUser, ctx: ContextDep, session: SessionDep) -> TotpSetupOut:
    """Start TOTP enrolment: scan the QR code, then confirm with ``/totp/verify``."""
    users = UserService(ctx, session)
    enrollment = users.start_totp_enrollment(users.get(user.id))
    return TotpSetupOut(
        secret=enrollment.secret, otpauth_uri=enrollment.otpauth_uri, qr_svg=enrollment.qr_svg
    )


@auth.post("/totp/verify", response_model=UserOut)
def totp_verify(
    body: TotpVerifyIn, user: CurrentUser, ctx: ContextDep, session: SessionDep
) -> UserOut:
    """Confirm enrolment with a current code; from then on sign-in asks for one."""
    users = UserService(ctx, session)
    return UserOut.model_validate(users.confirm_totp(users.get(user.id), body.code))


@admin_users.get("", response_model=UserPageOut)
def list_users(
    admin: AdminUser,
    ctx: ContextDep,
    session: ReadSessionDep,
    cursor: str | None = None,
    limit: Annotated[int, Query()] = 50,
    role: Role | None = None,
    status: UserStatus | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Users, newest first, ``limit`` (1–100) at a time; pass ``nextCursor`` back as ``cursor``."""
    page = UserService(ctx, session).list_users(
        admin, cursor=cursor, limit=limit, role=role, status=status, q=q
    )
    return model_response(
        UserPageOut(
            users=[UserOut.model_validate(u) for u in page.users],
            next_cursor=page.next_cursor,
            has_more=page.has_more,
            limit=page.limit,
        )
    )


@admin_users.post("", response_model=UserCreatedOut, status_code=status.HTTP_201_CREATED)
def create_user(
    body: UserCreateIn, admin: AdminUser, ctx: ContextDep, session: SessionDep
) -> UserCreatedOut:
    """Create a user. Without ``password`` one is generated and returned once."""
    user, generated = UserService(ctx, session).create_user(
        admin,
        email=body.email,
        role=body.role,
        display_name=body.display_name,
        password=body.password,
        status=body.status,
    )
    return UserCreatedOut.model_validate(
        {**UserOut.model_validate(user).model_dump(), "temporary_password": generated}
    )


@admin_users.get("/{user_id}", response_model=UserOut)
def get_user(user_id: int, admin: AdminUser, ctx: ContextDep, session: ReadSessionDep) -> UserOut:
    return UserOut.model_validate(UserService(ctx, session).get_for(admin, user_id))


@admin_users.patch("/{user_id}", response_model=UserOut)
def update_user(
    user_id: int, body: UserUpdateIn, admin: AdminUser, ctx: ContextDep, session: SessionDep
) -> UserOut:
    """Change role, status or name. 409 ``last_admin`` protects the last administrator."""
    user = UserService(ctx, session).update_user(
        admin, user_id, display_name=body.display_name, role=body.role, status=body.status
    )
    return UserOut.model_validate(user)


@admin_users.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_user(user_id: int, admin: AdminUser, ctx: ContextDep, session: SessionDep) -> None:
    UserService(ctx, session).delete_user(admin, user_id)


@admin_users.post("/{user_id}/reset-totp", response_model=UserOut)
def reset_totp(user_id: int, admin: AdminUser, ctx: ContextDep, session: SessionDep) -> UserOut:
    """Turn two-factor sign-in off for a user who lost their device."""
    return UserOut.model_validate(UserService(ctx, session).reset_totp(admin, user_id))
