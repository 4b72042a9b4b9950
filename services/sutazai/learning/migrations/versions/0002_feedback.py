"""Feedback on answers: a thumbs up or down and an optional comment, one per person and trace.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE feedback (
            id          uuid PRIMARY KEY,
            trace_id    uuid NOT NULL,
            subject     text NOT NULL,
            rating      smallint NOT NULL CHECK (rating IN (-1, 1)),
            comment     text CHECK (char_length(comment) <= 4000),
            created_at  timestamptz NOT NULL DEFAULT now(),
            updated_at  timestamptz NOT NULL DEFAULT now(),
            UNIQUE (trace_id, subject)
        );
        CREATE INDEX feedback_created_at ON feedback (created_at DESC);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE feedback")
