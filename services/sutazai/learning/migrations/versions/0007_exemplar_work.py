"""Exemplars keep the worked solution a teacher wrote (for example the arithmetic of a word
problem), which a student model is shown for similar questions.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE exemplars ADD COLUMN work text CHECK (char_length(work) <= 2000)")


def downgrade() -> None:
    op.execute("ALTER TABLE exemplars DROP COLUMN work")
