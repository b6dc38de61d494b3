"""Secrets on disk: the RS256 signing key pair and the master secret.

Development: generated on first start into ``<data dir>/secrets`` with 0600 permissions.
Production: never generated implicitly. The server refuses to start while one is missing,
weak or readable by others, and says which (``vesalius secrets generate`` creates them).
"""

import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from vesalius.config import Settings

SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name
JWT_PRIVATE_KEY_FILE = "jwt_private.pem"
MIN_SECRET_LENGTH = 32
# Values people paste from examples; refusing them in production is cheap insurance.
WELL_KNOWN_SECRETS = {"changeme", "change-me", "secret", "password", "default", "vesalius", "test"}


class ConfigurationError(RuntimeError):
    """The configuration cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class Keys:
    secret_key: bytes
    jwt_private_pem: bytes
    jwt_public_pem: bytes

    def derive(self, purpose: str, length: int = 32) -> bytes:
        """A sub-key for one purpose, so no two features ever share key material."""
        hkdf = HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=purpose.encode())
        return hkdf.derive(self.secret_key)


def secrets_dir(settings: Settings) -> Path:
    return settings.resolved_data_dir / "secrets"


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _new_private_key_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def generate_keys(settings: Settings, *, overwrite: bool = False) -> list[Path]:
    """Create whichever secret files are missing (or all of them with ``overwrite``)."""
    folder = secrets_dir(settings)
    written: list[Path] = []
    targets = {
        folder / SECRET_KEY_FILE: lambda: secrets.token_urlsafe(48).encode(),
        folder / JWT_PRIVATE_KEY_FILE: _new_private_key_pem,
    }
    for path, make in targets.items():
        if path.exists() and not overwrite:
            continue
        if path.exists():
            path.unlink()
        _write_private(path, make())
        written.append(path)
    return written


def _readable_by_others(path: Path) -> bool:
    return bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def load_keys(settings: Settings) -> Keys:
    folder = secrets_dir(settings)
    secret_file = folder / SECRET_KEY_FILE
    private_file = settings.jwt_private_key_file or folder / JWT_PRIVATE_KEY_FILE
    if not settings.is_production:
        generate_keys(settings)  # only what is missing; existing secrets are kept

    problems: list[str] = []
    secret = _load_secret(settings, secret_file, problems)
    private_pem = _load_private_key(settings, private_file, problems)
    if problems:
        raise ConfigurationError(
            "Refusing to start in production: "
            + "; ".join(problems)
            + ". Run `vesalius secrets generate` or set the variables named."
        )
    assert secret is not None
    assert private_pem is not None
    private_key = serialization.load_pem_private_key(private_pem, password=None)
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return Keys(secret_key=secret, jwt_private_pem=private_pem, jwt_public_pem=public_pem)


def _load_secret(settings: Settings, secret_file: Path, problems: list[str]) -> bytes | None:
    if settings.secret_key is not None:
        value = settings.secret_key.get_secret_value()
        if settings.is_production and (
            len(value) < MIN_SECRET_LENGTH or value.lower() in WELL_KNOWN_SECRETS
        ):
            problems.append(
                "VESALIUS_SECRET_KEY is a default or weak value "
                f"(use {MIN_SECRET_LENGTH}+ random characters)"
            )
        return value.encode()
    if not secret_file.exists():
        problems.append(f"VESALIUS_SECRET_KEY is not set and {secret_file} does not exist")
        return None
    if settings.is_production and _readable_by_others(secret_file):
        problems.append(f"{secret_file} is readable by group or others (chmod 600 it)")
    value_bytes = secret_file.read_bytes().strip()
    if settings.is_production and len(value_bytes) < MIN_SECRET_LENGTH:
        problems.append(f"{secret_file} holds a secret shorter than {MIN_SECRET_LENGTH} characters")
    return value_bytes


def _load_private_key(settings: Settings, private_file: Path, problems: list[str]) -> bytes | None:
    if not private_file.exists():
        problems.append(
            f"the JWT signing key {private_file} does not exist (VESALIUS_JWT_PRIVATE_KEY_FILE)"
        )
        return None
    if settings.is_production and _readable_by_others(private_file):
        problems.append(f"{private_file} is readable by group or others (chmod 600 it)")
    data = private_file.read_bytes()
    try:
        serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        problems.append(f"{private_file} is not an unencrypted PEM private key")
        return None
    return data
