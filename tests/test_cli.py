"""The ``vesalius`` command, run as a user would (in-process through Typer's runner)."""

import subprocess
import sys
from pathlib import Path

from tests.cli_helpers import run_cli, settings_env
from tests.conftest import make_settings
from vesalius import __version__
from vesalius.config import Settings
from vesalius.migrations import head_revision


def test_version(settings: Settings) -> None:
    result = run_cli(settings, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"vesalius {__version__}"


def test_users_create_with_password_from_stdin_then_list_and_disable(settings: Settings) -> None:
    created = run_cli(
        settings,
        [
            "users",
            "create",
            "Nurse@Ward7.example.org",
            "--role",
            "clinician",
            "--name",
            "Night Nurse",
            "--password-stdin",
        ],
        input="a-long-enough-secret\n",
    )
    assert created.exit_code == 0, created.output
    assert "Created nurse@ward7.example.org (clinician)" in created.output
    assert "password:" not in created.output

    listed = run_cli(settings, ["users", "list"])
    assert listed.exit_code == 0
    assert "nurse@ward7.example.org" in listed.output.replace("\n", "")
    assert "Night Nurse" in listed.output

    disabled = run_cli(settings, ["users", "disable", "nurse@ward7.example.org"])
    assert disabled.exit_code == 0
    only_disabled = run_cli(settings, ["users", "list", "--status", "disabled"])
    assert "nurse@ward7" in only_disabled.output
    enabled = run_cli(settings, ["users", "enable", "nurse@ward7.example.org"])
    assert enabled.exit_code == 0


def test_users_create_generates_a_password_when_none_given(settings: Settings) -> None:
    result = run_cli(settings, ["users", "create", "gen@example.org", "--role", "researcher"])
    assert result.exit_code == 0
    assert "password:" in result.output


def test_bad_arguments_and_failures_have_clear_messages_and_exit_codes(settings: Settings) -> None:
    bad_role = run_cli(
        settings,
        ["users", "create", "x@example.org", "--role", "wizard", "--password-stdin"],
        input="pw\n",
    )
    assert bad_role.exit_code == 2
    assert "wizard" in bad_role.output
    assert "is not one of" in bad_role.output or "Invalid value" in bad_role.output

    empty = run_cli(
        settings,
        ["users", "create", "x@example.org", "--role", "admin", "--password-stdin"],
        input="\n",
    )
    assert empty.exit_code == 2
    assert "standard input was empty" in empty.output

    run_cli(settings, ["users", "create", "dup@example.org", "--role", "admin"])
    duplicate = run_cli(settings, ["users", "create", "DUP@example.org", "--role", "admin"])
    assert duplicate.exit_code == 1
    assert "already exists" in duplicate.output

    unknown = run_cli(settings, ["users", "disable", "ghost@example.org"])
    assert unknown.exit_code == 1
    assert "no user with that email" in unknown.output

    last_admin = run_cli(settings, ["users", "disable", "dup@example.org"])
    assert last_admin.exit_code == 1
    assert "last active administrator" in last_admin.output


def test_init_migrates_and_creates_the_first_admin_once(data_dir: Path, tmp_path: Path) -> None:
    settings = make_settings(data_dir, f"sqlite:///{tmp_path / 'fresh.db'}")
    first = run_cli(settings, ["init"])
    assert first.exit_code == 0, first.output
    assert "First administrator created" in first.output
    assert "admin@example.com" in first.output
    password = first.output.split("password:")[1].split()[0]
    assert len(password) >= 16
    second = run_cli(settings, ["init"])
    assert "First administrator created" not in second.output
    assert "an administrator exists" in second.output
    current = run_cli(settings, ["db", "current"])
    assert head_revision() in current.output
    assert "up to date" in current.output


def test_db_upgrade_and_current(data_dir: Path, tmp_path: Path) -> None:
    settings = make_settings(data_dir, f"sqlite:///{tmp_path / 'x.db'}")
    assert "empty" in run_cli(settings, ["db", "current"]).output
    upgraded = run_cli(settings, ["db", "upgrade"])
    assert upgraded.exit_code == 0
    assert "up to date" in run_cli(settings, ["db", "current"]).output


def test_invalid_configuration_is_reported_not_a_traceback(settings: Settings) -> None:
    env = {**settings_env(settings), "VESALIUS_PORT": "not-a-port"}
    proc = subprocess.run(
        [sys.executable, "-m", "vesalius.cli", "users", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert "invalid configuration" in proc.stderr
    assert "port" in proc.stderr
    assert "Traceback" not in proc.stderr
