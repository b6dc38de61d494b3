"""events: reserved for issue 11 (live analytics events)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 23:00:00

Reserved so that work on several domains can proceed at once without branching the chain;
it changes nothing until its domain fills it in.
"""

from collections.abc import Sequence

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
