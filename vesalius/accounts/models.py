from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vesalius.db import Base, string_enum, utcnow


class Role(StrEnum):
    admin = "admin"
    radiologist = "radiologist"
    clinician = "clinician"
    researcher = "researcher"


class UserStatus(StrEnum):
    active = "active"
    disabled = "disabled"
    pending = "pending"


class User(Base):
    __tablename__ = "users"
    # Each index leads with the filter column and ends with the newest-first sort keys, so
    # filtered admin lists are one range scan; they also serve plain lookups by role/status.
    __table_args__ = (
        Index("ix_users_created_at_id", "created_at", "id"),
        Index("ix_users_role_created_at_id", "role", "created_at", "id"),
        Index("ix_users_status_created_at_id", "status", "created_at", "id"),
        Index("ix_users_last_active_at", "last_active_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Always stored lower-cased, which makes the unique index case-insensitive.
    email: Mapped[str] = mapped_column(String(320), unique=True, index=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(string_enum(Role, "user_role"))
    status: Mapped[UserStatus] = mapped_column(string_enum(UserStatus, "user_status"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # Written by the activity recorder: "users active since D" is one index range.
    last_active_at: Mapped[datetime | None]
    totp_secret_encrypted: Mapped[str | None] = mapped_column(String(300))
    totp_enabled: Mapped[bool] = mapped_column(default=False)
    # The last 30-second step a code was accepted for: a code works once.
    totp_last_step: Mapped[int | None]


class AuthSession(Base):
    """One sign-in: the family of refresh tokens that rotate from it."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(40))
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(400))

    user: Mapped[User] = relationship(lazy="raise")


class RefreshToken(Base):
    """Stored only as a SHA-256 hash; each one can be exchanged exactly once."""

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("auth_sessions.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
