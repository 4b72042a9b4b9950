"""Baseline: the metacognition schema exists and is under migration control.

Revision ID: 0001
Revises:
"""

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """The schema itself is created before migrations run; tables arrive with the features."""


def downgrade() -> None:
    """Nothing to undo."""
