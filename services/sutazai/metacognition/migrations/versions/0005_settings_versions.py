"""Settings versions: every applied change (an approved proposal, or a restore of an earlier
version) is a new row holding the whole bundle of settings the metacognition service governs
(the abstention threshold, the model routes); the newest row is in force. A proposal records the
version its approval produced.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE settings_versions (
            version       serial PRIMARY KEY,
            settings      jsonb NOT NULL,
            proposal_id   uuid REFERENCES proposals,
            restored_from integer REFERENCES settings_versions,
            actor         text NOT NULL,
            reason        text NOT NULL,
            created_at    timestamptz NOT NULL DEFAULT now()
        );
        ALTER TABLE proposals ADD COLUMN applied_version integer REFERENCES settings_versions;
        """
    )


def downgrade() -> None:
    op.execute("ALTER TABLE proposals DROP COLUMN applied_version; DROP TABLE settings_versions")
