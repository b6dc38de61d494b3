"""Signed links for GET requests that cannot carry an Authorization header: ``<img src>`` in
the web UI, a link handed to a DICOM viewer. A signature binds the path, the user it acts for
and an expiry; the user's permissions are still checked on every use."""

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

from vesalius.common.errors import Unauthorized
from vesalius.keys import Keys

DEFAULT_TTL_SECONDS = 3600


def _signature(keys: Keys, path: str, user_id: int, expires: int) -> str:
    message = f"{path}\n{user_id}\n{expires}".encode()
    digest = hmac.new(keys.derive("signed-url"), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def sign_path(keys: Keys, path: str, user_id: int, *, ttl: int = DEFAULT_TTL_SECONDS) -> str:
    """``path`` plus the query parameters that let it be fetched as ``user_id`` until expiry.

    Expiry is rounded up to a whole period so the same link is reused for a while and browser
    caches keep working.
    """
    expires = (int(time.time()) // ttl + 2) * ttl
    separator = "&" if "?" in path else "?"
    bare = path.split("?", 1)[0]
    return (
        f"{path}{separator}u={user_id}&exp={expires}&sig={_signature(keys, bare, user_id, expires)}"
    )


@dataclass(frozen=True)
class SignedRequest:
    user_id: int


def verify(
    keys: Keys, path: str, user: str | None, expires: str | None, signature: str | None
) -> SignedRequest:
    if not (user and expires and signature and user.isdigit() and expires.isdigit()):
        raise Unauthorized("signed link is incomplete", code="invalid_signature")
    expected = _signature(keys, path, int(user), int(expires))
    if not hmac.compare_digest(expected, signature):
        raise Unauthorized("signed link is not valid", code="invalid_signature")
    if int(expires) < time.time():
        raise Unauthorized("signed link has expired", code="signature_expired")
    return SignedRequest(user_id=int(user))
