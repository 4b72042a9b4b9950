"""The collection of the trace each feedback concerns, so that an admin limited to some
collections sees only the feedback on them.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE feedback ADD COLUMN collection text;
        COMMENT ON COLUMN feedback.collection IS
            'the collection of the trace (NULL for feedback recorded before scopes were kept)';
        CREATE INDEX feedback_collection ON feedback (collection, created_at DESC);
        """
    )


def downgrade() -> None:
    op.execute("DROP INDEX feedback_collection; ALTER TABLE feedback DROP COLUMN collection")
