"""dicomnet: reserved for issue 9 stage C (DICOM nodes)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 23:40:00

Reserved so that work on several domains can proceed at once without branching the chain;
it changes nothing until its domain fills it in.
"""

from collections.abc import Sequence

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
