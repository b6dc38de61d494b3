"""Users: lookups, administration (with the last-admin rule) and TOTP enrolment.

Every method that acts for somebody takes the acting user and checks permission itself, so
the REST API, the web UI and the CLI cannot disagree about who may do what.
"""

import re
from dataclasses import dataclass

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from vesalius.accounts import totp
from vesalius.accounts.models import AuthSession, Role, User, UserStatus
from vesalius.accounts.passwords import random_password
from vesalius.accounts.permissions import ensure_active, ensure_admin
from vesalius.common.errors import BadRequest, Conflict, NotFound, Unauthorized
from vesalius.common.pagination import Cursor, check_limit, older_than
from vesalius.context import AppContext
from vesalius.db import is_constraint_violation, utcnow

EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


@dataclass(frozen=True)
class UserPage:
    users: list[User]
    next_cursor: str | None
    has_more: bool
    limit: int


@dataclass(frozen=True)
class TotpEnrollment:
    secret: str
    otpauth_uri: str
    qr_svg: str


def normalize_email(email: str) -> str:
    cleaned = email.strip().lower()
    if not EMAIL_PATTERN.match(cleaned):
        raise BadRequest(
            "email address is not valid", code="invalid_email", details={"email": email}
        )
    return cleaned


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class UserService:
    def __init__(self, ctx: AppContext, session: Session) -> None:
        self.ctx = ctx
        self.session = session

    # -- lookups ---------------------------------------------------------------------------
    def get(self, user_id: int) -> User:
        user = self.session.get(User, user_id)
        if user is None:
            raise NotFound("no such user", details={"id": user_id})
        return user

    def get_for(self, actor: User | None, user_id: int) -> User:
        ensure_admin(actor)
        return self.get(user_id)

    def find_by_email(self, email: str) -> User | None:
        return self.session.scalar(select(User).where(User.email == email.strip().lower()))

    def get_by_email(self, email: str) -> User:
        user = self.find_by_email(email)
        if user is None:
            raise NotFound("no user with that email", details={"email": email})
        return user

    def count_users(self) -> int:
        return self.session.scalar(select(func.count()).select_from(User)) or 0

    # -- administration --------------------------------------------------------------------
    def list_users(
        self,
        actor: User | None,
        *,
        cursor: str | None = None,
        limit: int = 50,
        role: Role | None = None,
        status: UserStatus | None = None,
        q: str | None = None,
    ) -> UserPage:
        ensure_admin(actor)
        check_limit(limit)
        stmt = select(User)
        if role is not None:
            stmt = stmt.where(User.role == role)
        if status is not None:
            stmt = stmt.where(User.status == status)
        if q and q.strip():
            pattern = _like_pattern(q.strip().lower())
            stmt = stmt.where(
                or_(
                    User.email.like(pattern, escape="\\"),
                    func.lower(User.display_name).like(pattern, escape="\\"),
                )
            )
        if cursor:
            stmt = stmt.where(older_than(User.created_at, User.id, Cursor.decode(cursor)))
        stmt = stmt.order_by(User.created_at.desc(), User.id.desc()).limit(limit + 1)
        rows = list(self.session.scalars(stmt))
        has_more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = Cursor(rows[-1].created_at, rows[-1].id).encode() if has_more else None
        return UserPage(users=rows, next_cursor=next_cursor, has_more=has_more, limit=limit)

    def create_user(
        self,
        actor: User | None,
        *,
        email: str,
        role: Role,
        display_name: str | None = None,
        password: str | None = None,
        status: UserStatus = UserStatus.active,
    ) -> tuple[User, str | None]:
        """Create a user; returns it and the generated password when none was given."""
        ensure_admin(actor)
        normalized = normalize_email(email)
        if self.find_by_email(normalized) is not None:
            raise Conflict("a user with that email already exists", code="email_taken")
        generated = None if password else random_password()
        user = User(
            email=normalized,
            display_name=(display_name or "").strip() or normalized.split("@")[0],
            password_hash=self.ctx.passwords.hash(password or generated or ""),
            role=role,
            status=status,
        )
        self.session.add(user)
        self.session.commit()
        return user, generated

    def update_user(
        self,
        actor: User | None,
        user_id: int,
        *,
        display_name: str | None = None,
        role: Role | None = None,
        status: UserStatus | None = None,
    ) -> User:
        ensure_admin(actor)
        user = self.get(user_id)
        loses_admin = (role is not None and role != Role.admin) or (
            status is not None and status != UserStatus.active
        )
        if loses_admin:
            self._keep_one_admin(user)
        if display_name is not None:
            if not display_name.strip():
                raise BadRequest("display name cannot be empty", code="invalid_display_name")
            user.display_name = display_name.strip()
        if role is not None:
            user.role = role
        if status is not None:
            user.status = status
            if status != UserStatus.active:
                self.revoke_sessions(user.id, reason="account_disabled")
        self.session.commit()
        return user

    def delete_user(self, actor: User | None, user_id: int) -> None:
        ensure_admin(actor)
        user = self.get(user_id)
        if actor is not None and actor.id == user.id:
            raise Conflict("you cannot delete your own account", code="cannot_delete_self")
        self._keep_one_admin(user)
        self.session.delete(user)
        try:
            self.session.commit()
        except DBAPIError as error:
            if not is_constraint_violation(error):
                raise
            self.session.rollback()
            raise Conflict(
                "this user still owns images; disable the account, or delete the images first",
                code="user_has_data",
            ) from None

    def reset_totp(self, actor: User | None, user_id: int) -> User:
        ensure_admin(actor)
        user = self.get(user_id)
        user.totp_enabled = False
        user.totp_secret_encrypted = None
        user.totp_last_step = None
        self.session.commit()
        return user

    def _keep_one_admin(self, user: User) -> None:
        """Refuse a change that would leave no active administrator."""
        if user.role != Role.admin or user.status != UserStatus.active:
            return
        # FOR UPDATE serialises two admins demoting each other on PostgreSQL; SQLite's
        # write sessions are already serialised by BEGIN IMMEDIATE.
        admins = self.session.scalars(
            select(User.id)
            .where(User.role == Role.admin, User.status == UserStatus.active)
            .with_for_update()
        ).all()
        if len(admins) <= 1:
            raise Conflict(
                "this is the last active administrator; promote another user first",
                code="last_admin",
            )

    def revoke_sessions(self, user_id: int, *, reason: str) -> None:
        self.session.execute(
            update(AuthSession)
            .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_reason=reason)
        )

    # -- self-service ----------------------------------------------------------------------
    def change_password(
        self, user: User, *, current: str, new: str, keep_session: str | None
    ) -> None:
        ensure_active(user)
        if not self.ctx.passwords.verify(user.password_hash, current):
            raise Unauthorized("current password is wrong", code="invalid_credentials")
        user.password_hash = self.ctx.passwords.hash(new)
        self.session.execute(
            update(AuthSession)
            .where(
                AuthSession.user_id == user.id,
                AuthSession.revoked_at.is_(None),
                AuthSession.id != (keep_session or ""),
            )
            .values(revoked_at=utcnow(), revoked_reason="password_changed")
        )
        self.session.commit()

    def start_totp_enrollment(self, user: User) -> TotpEnrollment:
        ensure_active(user)
        if user.totp_enabled:
            raise Conflict(
                "two-factor sign-in is already on; an administrator can reset it",
                code="totp_already_enabled",
            )
        secret = totp.new_secret()
        user.totp_secret_encrypted = self.ctx.totp.encrypt(secret)
        self.session.commit()
        uri = totp.provisioning_uri(secret, user.email)
        return TotpEnrollment(secret=secret, otpauth_uri=uri, qr_svg=totp.qr_svg_data_uri(uri))

    def confirm_totp(self, user: User, code: str) -> User:
        ensure_active(user)
        if user.totp_enabled:
            raise Conflict("two-factor sign-in is already on", code="totp_already_enabled")
        secret = self.ctx.totp.decrypt(user.totp_secret_encrypted or "")
        if secret is None:
            raise BadRequest(
                "two-factor enrolment has not been started; start it first", code="totp_not_started"
            )
        if totp.matching_step(secret, code) is None:
            raise BadRequest("that code is not valid; check the device clock", code="invalid_totp")
        user.totp_enabled = True
        # The enrolment code does not count as used: signing in straight after enrolling, in
        # the same 30-second step, must work. Replay protection applies from the first login.
        user.totp_last_step = None
        self.session.commit()
        return user


def first_admin_needed(ctx: AppContext, session: Session) -> tuple[str, str] | None:
    """Create the first administrator when there is no active one.

    Returns the email and the generated password, to be shown once, or None.
    """
    active_admins = session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.admin, User.status == UserStatus.active)
    )
    if active_admins:
        return None
    user, password = UserService(ctx, session).create_user(
        None, email=ctx.settings.admin_email, role=Role.admin, display_name="Administrator"
    )
    assert password is not None
    return user.email, password
