"""Secrets on disk and the production refusal."""

import stat
from pathlib import Path

import pytest

from tests.conftest import make_settings
from vesalius.keys import ConfigurationError, load_keys


def test_development_generates_private_secrets(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", "sqlite://")
    keys = load_keys(settings)
    folder = tmp_path / "data" / "secrets"
    for name in ("secret_key", "jwt_private.pem"):
        mode = stat.S_IMODE((folder / name).stat().st_mode)
        assert mode == 0o600, f"{name} has mode {oct(mode)}"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    # A second start reuses them: tokens survive restarts.
    again = load_keys(settings)
    assert again.jwt_private_pem == keys.jwt_private_pem
    assert again.secret_key == keys.secret_key
    assert keys.derive("a") != keys.derive("b")


def test_production_refuses_missing_secrets_and_names_them(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", "sqlite://", env="production")
    with pytest.raises(ConfigurationError) as raised:
        load_keys(settings)
    message = str(raised.value)
    assert "VESALIUS_SECRET_KEY" in message
    assert "jwt_private.pem" in message
    assert "vesalius secrets generate" in message
    assert not (tmp_path / "data" / "secrets" / "secret_key").exists()  # never generated silently


@pytest.mark.parametrize("weak", ["changeme", "secret", "short-but-not-default"])
def test_production_refuses_weak_secret_key(data_dir: Path, weak: str) -> None:
    settings = make_settings(data_dir, "sqlite://", env="production", secret_key=weak)
    with pytest.raises(ConfigurationError, match="VESALIUS_SECRET_KEY is a default or weak value"):
        load_keys(settings)


def test_production_refuses_world_readable_key_files(data_dir: Path) -> None:
    (data_dir / "secrets" / "jwt_private.pem").chmod(0o644)
    settings = make_settings(data_dir, "sqlite://", env="production")
    with pytest.raises(ConfigurationError, match="readable by group or others"):
        load_keys(settings)


def test_production_starts_with_generated_secrets(data_dir: Path) -> None:
    settings = make_settings(data_dir, "sqlite://", env="production")
    assert load_keys(settings).secret_key


def test_production_accepts_a_strong_secret_from_the_environment(data_dir: Path) -> None:
    (data_dir / "secrets" / "secret_key").unlink()
    settings = make_settings(data_dir, "sqlite://", env="production", secret_key="x7" * 24)
    assert load_keys(settings).secret_key == b"x7" * 24


def test_plain_postgres_urls_use_the_shipped_driver() -> None:
    from vesalius.config import Settings

    settings = Settings(_env_file=None, database_url="postgresql://u:p@db/vesalius")  # type: ignore[call-arg]
    assert settings.sqlalchemy_url == "postgresql+psycopg://u:p@db/vesalius"
    assert settings.database_backend == "postgresql"
