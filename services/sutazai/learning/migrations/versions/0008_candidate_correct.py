"""Whether the answer a case would have got was right, even when the pipeline withheld it for low
confidence: the label the metacognition service fits its calibrators on (NULL when there was no
answer at all, or for the bare model).

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE eval_results ADD COLUMN candidate_correct boolean")


def downgrade() -> None:
    op.execute("ALTER TABLE eval_results DROP COLUMN candidate_correct")
