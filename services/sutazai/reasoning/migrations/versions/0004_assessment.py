"""The confidence assessment of a trace's answer: the features sent to the metacognition service,
the probability it gave, the calibrator's version and the threshold applied (or the prior, and
why, when the service could not be asked).

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE traces ADD COLUMN assessment jsonb")


def downgrade() -> None:
    op.execute("ALTER TABLE traces DROP COLUMN assessment")
