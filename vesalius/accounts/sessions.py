"""Signing in and staying signed in: login, refresh-token rotation, logout, and checking an
access token on every request.

A sign-in creates an ``AuthSession``; its refresh tokens form one family. Each refresh token
can be exchanged once. Presenting one that was already exchanged means somebody copied it,
so the whole family is revoked and both holders must sign in again.
"""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from vesalius.accounts import totp
from vesalius.accounts.models import AuthSession, RefreshToken, User
from vesalius.accounts.permissions import ensure_active
from vesalius.accounts.tokens import hash_refresh_token, new_refresh_token, new_session_id
from vesalius.analytics.models import ActivityType
from vesalius.common.errors import Unauthorized
from vesalius.context import AppContext
from vesalius.db import utcnow

# Every authenticated request runs this: built once, so SQLAlchemy neither rebuilds the
# statement nor recomputes its cache key each time.
TOKEN_OWNER = (
    select(User, AuthSession.revoked_at)
    .join(AuthSession, AuthSession.user_id == User.id)
    .where(User.id == bindparam("user_id"), AuthSession.id == bindparam("session_id"))
)


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int
    user: User
    session_id: str


@dataclass(frozen=True)
class Client:
    """Who is on the other end, for throttling and the session list."""

    ip: str | None = None
    user_agent: str | None = None


INVALID_CREDENTIALS = "email or password is wrong"


class AuthService:
    def __init__(self, ctx: AppContext, session: Session) -> None:
        self.ctx = ctx
        self.session = session

    def login(
        self, email: str, password: str, totp_code: str | None = None, client: Client = Client()
    ) -> IssuedTokens:
        email = email.strip().lower()
        throttle = self.ctx.login_throttle
        throttle.check(email, client.ip)
        user = self.session.scalar(select(User).where(User.email == email))
        if not self.ctx.passwords.verify(user.password_hash if user else None, password):
            throttle.record_failure(email, client.ip)
            self._record_failure(user, email, "invalid_credentials", client)
            raise Unauthorized(INVALID_CREDENTIALS, code="invalid_credentials")
        assert user is not None
        ensure_active(user)
        if user.totp_enabled:
            self._check_totp(user, totp_code, email, client)
        throttle.record_success(email)
        if self.ctx.passwords.needs_rehash(user.password_hash):
            user.password_hash = self.ctx.passwords.hash(password)
        user.last_login_at = utcnow()
        auth_session = AuthSession(
            id=new_session_id(),
            user_id=user.id,
            ip_address=client.ip,
            user_agent=(client.user_agent or "")[:400] or None,
        )
        self.session.add(auth_session)
        self.session.flush()  # the session row must exist before its first refresh token
        tokens = self._issue(user, auth_session)
        self.session.commit()
        self.ctx.activity.record(
            user.id,
            ActivityType.login,
            ip=client.ip,
            user_agent=client.user_agent,
            details={"sessionId": auth_session.id},
        )
        return tokens

    def _record_failure(self, user: User | None, email: str, reason: str, client: Client) -> None:
        self.ctx.activity.record(
            user.id if user else None,
            ActivityType.login_failed,
            details={"email": email[:320], "reason": reason},
            ip=client.ip,
            user_agent=client.user_agent,
        )

    def _check_totp(self, user: User, code: str | None, email: str, client: Client) -> None:
        if not code:
            # The password was right; the client must now ask for the second factor.
            raise Unauthorized("enter the code from your authenticator app", code="totp_required")
        secret = self.ctx.totp.decrypt(user.totp_secret_encrypted or "")
        step = totp.matching_step(secret, code) if secret else None
        if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
            self.ctx.login_throttle.record_failure(email, client.ip)
            self._record_failure(user, email, "invalid_totp", client)
            raise Unauthorized(
                "the authenticator code is wrong or already used", code="invalid_totp"
            )
        user.totp_last_step = step

    def refresh(self, refresh_token: str, client: Client = Client()) -> IssuedTokens:
        now = utcnow()
        row = self.session.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == hash_refresh_token(refresh_token))
        )
        if row is None:
            raise Unauthorized("refresh token is not valid", code="invalid_refresh_token")
        auth_session = self.session.get(AuthSession, row.session_id)
        assert auth_session is not None  # FK with cascade
        if auth_session.revoked_at is not None:
            raise Unauthorized("this session has ended; sign in again", code="session_revoked")
        if row.expires_at <= now:
            raise Unauthorized("refresh token has expired; sign in again", code="token_expired")
        # Mark used only if nobody else did first: the check and the write are one statement,
        # so two concurrent exchanges of one token cannot both succeed.
        claimed = self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None))
            .values(used_at=now)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            self._revoke(auth_session, "refresh_token_reused")
            self.session.commit()
            raise Unauthorized(
                "this refresh token was already used; the session has been ended for safety",
                code="refresh_token_reused",
            )
        user = self.session.get(User, auth_session.user_id)
        assert user is not None
        ensure_active(user)
        auth_session.last_used_at = now
        if client.ip:
            auth_session.ip_address = client.ip
        tokens = self._issue(user, auth_session)
        self.session.commit()
        return tokens

    def logout(self, *, session_id: str | None = None, refresh_token: str | None = None) -> None:
        """End the session named by an access token's ``sid`` or by a refresh token."""
        if session_id is None and refresh_token:
            session_id = self.session.scalar(
                select(RefreshToken.session_id).where(
                    RefreshToken.token_hash == hash_refresh_token(refresh_token)
                )
            )
        auth_session = self.session.get(AuthSession, session_id) if session_id else None
        if auth_session is not None and auth_session.revoked_at is None:
            self._revoke(auth_session, "logout")
            self.session.commit()
            self.ctx.activity.record(
                auth_session.user_id, ActivityType.logout, details={"sessionId": auth_session.id}
            )

    def authenticate(self, access_token: str) -> tuple[User, str]:
        """The user an access token belongs to and its session id; raises 401/403."""
        claims = self.ctx.access_tokens.decode(access_token)
        row = self.session.execute(
            TOKEN_OWNER, {"user_id": claims.user_id, "session_id": claims.session_id}
        ).first()
        if row is None:
            raise Unauthorized("access token is invalid", code="invalid_token")
        user, revoked_at = row
        if revoked_at is not None:
            raise Unauthorized("this session has ended; sign in again", code="session_revoked")
        ensure_active(user)
        return user, claims.session_id

    def _issue(self, user: User, auth_session: AuthSession) -> IssuedTokens:
        settings = self.ctx.settings
        refresh_lifetime = timedelta(days=settings.refresh_token_days)
        token, token_hash = new_refresh_token()
        self.session.add(
            RefreshToken(
                session_id=auth_session.id,
                token_hash=token_hash,
                expires_at=utcnow() + refresh_lifetime,
            )
        )
        access = self.ctx.access_tokens.issue(
            user_id=user.id, role=user.role.value, session_id=auth_session.id
        )
        return IssuedTokens(
            access_token=access,
            refresh_token=token,
            expires_in=int(self.ctx.access_tokens.lifetime.total_seconds()),
            refresh_expires_in=int(refresh_lifetime.total_seconds()),
            user=user,
            session_id=auth_session.id,
        )

    def _revoke(self, auth_session: AuthSession, reason: str) -> None:
        auth_session.revoked_at = utcnow()
        auth_session.revoked_reason = reason
