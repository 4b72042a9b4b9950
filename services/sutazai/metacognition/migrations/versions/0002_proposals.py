"""Improvement proposals: a bounded change to the platform's settings (model routes, abstention
threshold, retrieval depth, exemplar sets) with the evidence for it, waiting for an admin.

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
        CREATE TABLE proposals (
            id            uuid PRIMARY KEY,
            kind          text NOT NULL CHECK (kind IN ('routes', 'abstain_below', 'retrieval', 'exemplars')),
            change        jsonb NOT NULL,
            evidence      jsonb NOT NULL,
            rationale     text NOT NULL DEFAULT '',
            source        text NOT NULL,
            status        text NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('pending', 'approved', 'rejected', 'applied', 'superseded', 'failed')),
            created_by    text NOT NULL,
            created_at    timestamptz NOT NULL DEFAULT now(),
            decided_by    text,
            decided_at    timestamptz,
            decision_note text
        );
        CREATE INDEX proposals_pending ON proposals (kind) WHERE status = 'pending';
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE proposals")
