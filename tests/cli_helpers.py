"""Run the ``vesalius`` command in-process against a test's settings."""

from typer.testing import CliRunner, Result

from vesalius.cli import app
from vesalius.config import Settings


def settings_env(settings: Settings) -> dict[str, str]:
    """The VESALIUS_* variables that reproduce ``settings`` in a child or CLI run."""
    env = {}
    for name in settings.model_fields_set:
        value = getattr(settings, name)
        if value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        env[f"VESALIUS_{name.upper()}"] = ",".join(value) if isinstance(value, list) else str(value)
    return env


def run_cli(settings: Settings, args: list[str], input: str | None = None) -> Result:
    runner = CliRunner()
    env = {**settings_env(settings), "COLUMNS": "200"}  # rich would wrap table cells at 80
    return runner.invoke(app, args, env=env, input=input, catch_exceptions=False)
