"""Which exact model served a step: the sha256 of its weights beside its name.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE trace_steps ADD COLUMN model_digest text")


def downgrade() -> None:
    op.execute("ALTER TABLE trace_steps DROP COLUMN model_digest")
