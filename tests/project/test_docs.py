"""Documentation that cannot drift: every setting and every endpoint is written down."""

from pathlib import Path

from vesalius.app import create_app
from vesalius.config import Settings
from vesalius.context import AppContext

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    missing = [name for name in Settings.model_fields if f"`VESALIUS_{name.upper()}`" not in text]
    assert missing == [], f"document these in docs/configuration.md: {missing}"


def test_every_endpoint_is_documented(ctx: AppContext) -> None:
    # docs/api.md and the pages it links to (a domain may document its API on its own page).
    text = "\n".join(page.read_text() for page in sorted((ROOT / "docs").glob("*.md")))
    app = create_app(ctx.settings, with_ui=False, ctx=ctx)
    routes = set(app.openapi()["paths"]) | {"/metrics", "/api/openapi.json"}
    assert {"/api/auth/login", "/api/images/{image_id}/preview"} <= routes  # the test sees them all
    missing = sorted(path for path in routes if f"`{path}`" not in text)
    assert missing == [], f"document these in docs/api.md (or a page it links): {missing}"


def test_readme_gives_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    assert "make run" in text
    assert "make test" in text
