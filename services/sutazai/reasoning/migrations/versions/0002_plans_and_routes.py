"""Planned, verified answers: step ids, dependencies and status; the answer's confidence,
citations and claims; replays; model routes by step kind.

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
        ALTER TABLE traces DROP CONSTRAINT traces_status_check;
        ALTER TABLE traces ADD CONSTRAINT traces_status_check
            CHECK (status IN ('running', 'answered', 'abstained', 'failed', 'exhausted'));
        ALTER TABLE traces
            ADD COLUMN plan        jsonb,
            ADD COLUMN confidence  double precision CHECK (confidence BETWEEN 0 AND 1),
            ADD COLUMN abstained   boolean NOT NULL DEFAULT false,
            ADD COLUMN reason      text,
            ADD COLUMN citations   jsonb NOT NULL DEFAULT '[]',
            ADD COLUMN claims      jsonb NOT NULL DEFAULT '[]',
            ADD COLUMN spend       jsonb NOT NULL DEFAULT '{}',
            ADD COLUMN replay_of   uuid REFERENCES traces(id) ON DELETE SET NULL;
        ALTER TABLE trace_steps
            ADD COLUMN step_id    text,
            ADD COLUMN purpose    text NOT NULL DEFAULT '',
            ADD COLUMN depends_on text[] NOT NULL DEFAULT '{}',
            ADD COLUMN status     text NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'error', 'skipped'));
        CREATE TABLE routes (
            kind       text PRIMARY KEY CHECK (kind IN ('plan', 'extract', 'synthesize', 'verify')),
            model      text NOT NULL,
            updated_by text NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE routes;
        ALTER TABLE trace_steps DROP COLUMN step_id, DROP COLUMN purpose, DROP COLUMN depends_on,
            DROP COLUMN status;
        ALTER TABLE traces DROP COLUMN plan, DROP COLUMN confidence, DROP COLUMN abstained,
            DROP COLUMN reason, DROP COLUMN citations, DROP COLUMN claims, DROP COLUMN spend,
            DROP COLUMN replay_of;
        ALTER TABLE traces DROP CONSTRAINT traces_status_check;
        ALTER TABLE traces ADD CONSTRAINT traces_status_check
            CHECK (status IN ('running', 'answered', 'abstained', 'failed'));
        """
    )
