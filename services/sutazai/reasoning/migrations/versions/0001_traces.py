"""Traces (episodic memory): one row per question, one per step.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE traces (
            id          uuid PRIMARY KEY,
            subject     text NOT NULL,
            question    text NOT NULL,
            collection  text,
            options     jsonb NOT NULL DEFAULT '{}',
            status      text NOT NULL CHECK (status IN ('running', 'answered', 'abstained', 'failed')),
            answer      text,
            error       text,
            request_id  text,
            started_at  timestamptz NOT NULL DEFAULT now(),
            finished_at timestamptz
        );
        CREATE INDEX traces_subject_started ON traces (subject, started_at DESC);
        CREATE TABLE trace_steps (
            trace_id          uuid NOT NULL REFERENCES traces(id) ON DELETE CASCADE,
            seq               integer NOT NULL,
            kind              text NOT NULL,
            tool              text NOT NULL,
            input             jsonb NOT NULL,
            output            jsonb,
            error             text,
            model             text,
            prompt_tokens     integer NOT NULL DEFAULT 0,
            completion_tokens integer NOT NULL DEFAULT 0,
            latency_ms        double precision NOT NULL,
            started_at        timestamptz NOT NULL,
            PRIMARY KEY (trace_id, seq)
        );
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE trace_steps; DROP TABLE traces;")
