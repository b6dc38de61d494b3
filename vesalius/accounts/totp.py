"""TOTP (RFC 6238) secrets, encrypted at rest, and their QR codes."""

import base64
import io
import time

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken

from vesalius.keys import Keys

ISSUER_NAME = "Vesalius"
STEP_SECONDS = 30


class TotpCodec:
    def __init__(self, keys: Keys) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(keys.derive("totp-secret-encryption")))

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def decrypt(self, stored: str) -> str | None:
        try:
            return self._fernet.decrypt(stored.encode()).decode()
        except InvalidToken:  # secret key rotated: treat as not enrolled rather than crash
            return None


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER_NAME)


def qr_svg_data_uri(uri: str) -> str:
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=5, border=2)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def matching_step(secret: str, code: str, *, now: float | None = None) -> int | None:
    """The time step ``code`` belongs to (allowing one step of clock drift), or None."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = int((now if now is not None else time.time()) // STEP_SECONDS)
    for step in (current, current - 1, current + 1):
        if pyotp.utils.strings_equal(totp.at(step * STEP_SECONDS), code):
            return step
    return None
