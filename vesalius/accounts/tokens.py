"""RS256 access tokens and opaque refresh tokens."""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from vesalius.common.errors import Unauthorized
from vesalius.db import utcnow
from vesalius.keys import Keys

ISSUER = "vesalius"
# Tokens whose signature was checked, remembered so a client's next requests skip PyJWT
# (~0.2 ms each): an LRU of recent tokens, expiry still checked on every use.
VERIFIED_TOKENS_CACHED = 4096


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    session_id: str
    role: str
    expires_at: datetime


class AccessTokens:
    def __init__(self, keys: Keys, lifetime: timedelta) -> None:
        # Parsed once: handing PyJWT the PEM bytes makes it parse and validate the RSA key on
        # every call, ~40 ms a sign-in here.
        private = serialization.load_pem_private_key(keys.jwt_private_pem, password=None)
        public = serialization.load_pem_public_key(keys.jwt_public_pem)
        if not isinstance(private, rsa.RSAPrivateKey) or not isinstance(public, rsa.RSAPublicKey):
            raise ValueError("the JWT signing key must be an RSA key (RS256)")
        self._private = private
        self._public = public
        self.lifetime = lifetime
        # Failures raise and are not cached; only a valid signature and claims are kept.
        self._verified = lru_cache(maxsize=VERIFIED_TOKENS_CACHED)(self._verify)

    def issue(self, *, user_id: int, role: str, session_id: str) -> str:
        now = utcnow()
        claims = {
            "iss": ISSUER,
            "sub": str(user_id),
            "sid": session_id,
            "role": role,
            "typ": "access",
            "iat": now,
            "exp": now + self.lifetime,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._private, algorithm="RS256")

    def decode(self, token: str) -> AccessClaims:
        claims = self._verified(token)
        if utcnow() >= claims.expires_at:
            raise Unauthorized("access token has expired", code="token_expired")
        return claims

    def _verify(self, token: str) -> AccessClaims:
        """Signature, issuer and required claims; expiry is left to ``decode``."""
        try:
            claims = jwt.decode(
                token,
                self._public,
                algorithms=["RS256"],  # never "none", never HS256 with the public key
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "sid", "typ"], "verify_exp": False},
            )
        except jwt.PyJWTError:
            raise Unauthorized("access token is invalid", code="invalid_token") from None
        if claims.get("typ") != "access" or not str(claims["sub"]).isdigit():
            raise Unauthorized("access token is invalid", code="invalid_token")
        try:
            expires_at = datetime.fromtimestamp(float(claims["exp"])).astimezone()
        except (TypeError, ValueError, OverflowError):
            raise Unauthorized("access token is invalid", code="invalid_token") from None
        return AccessClaims(
            user_id=int(claims["sub"]),
            session_id=str(claims["sid"]),
            role=str(claims.get("role", "")),
            expires_at=expires_at,
        )


def new_refresh_token() -> tuple[str, str]:
    """A fresh refresh token and the hash we store instead of it."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_session_id() -> str:
    return uuid.uuid4().hex
