from datetime import datetime

from pydantic import Field

from vesalius.accounts.models import Role, UserStatus
from vesalius.common.schemas import ApiModel


class UserOut(ApiModel):
    id: int
    email: str
    display_name: str
    role: Role
    status: UserStatus
    created_at: datetime
    last_login_at: datetime | None
    totp_enabled: bool


class LoginIn(ApiModel):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1024)
    totp_code: str | None = Field(default=None, max_length=12)


class TokensOut(ApiModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
    refresh_expires_in: int
    user: UserOut


class RefreshIn(ApiModel):
    refresh_token: str = Field(min_length=1, max_length=200)


class LogoutIn(ApiModel):
    refresh_token: str | None = Field(default=None, max_length=200)


class PasswordChangeIn(ApiModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class TotpSetupOut(ApiModel):
    secret: str
    otpauth_uri: str
    qr_svg: str = Field(description="QR code of otpauthUri as an SVG data: URI")


class TotpVerifyIn(ApiModel):
    code: str = Field(min_length=6, max_length=12)


class UserCreateIn(ApiModel):
    email: str = Field(min_length=3, max_length=320)
    role: Role
    display_name: str | None = Field(default=None, max_length=200)
    password: str | None = Field(default=None, max_length=1024)
    status: UserStatus = UserStatus.active


class UserCreatedOut(UserOut):
    temporary_password: str | None = Field(
        default=None, description="Generated when no password was given; shown only once."
    )


class UserUpdateIn(ApiModel):
    display_name: str | None = Field(default=None, max_length=200)
    role: Role | None = None
    status: UserStatus | None = None


class UserPageOut(ApiModel):
    users: list[UserOut]
    next_cursor: str | None
    has_more: bool
    limit: int
