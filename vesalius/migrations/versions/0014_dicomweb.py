"""dicomweb: reserved for issue 9 stage B (application passwords)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 23:40:00

Reserved so that work on several domains can proceed at once without branching the chain;
it changes nothing until its domain fills it in.
"""

from collections.abc import Sequence

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
