"""Calibrated confidence: every assessment (an answer's features, the probability given and the
calibrator that gave it), the labelled outcomes read from the learning service (evaluation cases
and feedback), and every fitted calibrator with its held-out measurements. Version 0 is the
documented prior and has no row; the newest fitted calibrator is the one in use.

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
        CREATE TABLE calibrators (
            version     serial PRIMARY KEY,
            method      text NOT NULL CHECK (method IN ('logistic', 'isotonic')),
            params      jsonb NOT NULL,
            metrics     jsonb NOT NULL,
            held_out    jsonb NOT NULL,
            created_by  text NOT NULL,
            created_at  timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE assessments (
            id          uuid PRIMARY KEY,
            trace_id    uuid UNIQUE,
            subject     text NOT NULL,
            features    jsonb NOT NULL,
            probability double precision NOT NULL CHECK (probability BETWEEN 0 AND 1),
            calibrator  integer NOT NULL,
            created_at  timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX assessments_created ON assessments (created_at);
        CREATE TABLE outcomes (
            trace_id    uuid NOT NULL,
            source      text NOT NULL CHECK (source IN ('evaluation', 'feedback')),
            correct     boolean NOT NULL,
            suite       text,
            run_id      uuid,
            recorded_at timestamptz NOT NULL,
            PRIMARY KEY (trace_id, source)
        );
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE outcomes; DROP TABLE assessments; DROP TABLE calibrators")
