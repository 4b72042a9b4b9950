"""Monitors: one observation per answered question (from reasoning's `trace.completed` events),
the ratings people give (from learning's `feedback.given` events), and the alerts the rules
raise (at most one firing alert per rule; resolved when the rule holds again), and where the
reference period that drift is measured against begins (the first observations, until an admin
pins a newer period).

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE observations (
            trace_id        uuid PRIMARY KEY,
            seq             bigserial UNIQUE,
            observed_at     timestamptz NOT NULL DEFAULT now(),
            abstained       boolean NOT NULL,
            confidence      double precision,
            collection      text,
            models          text[] NOT NULL DEFAULT '{}',
            steps           jsonb NOT NULL DEFAULT '[]',
            empty_retrieval boolean NOT NULL DEFAULT false
        );
        CREATE TABLE ratings (
            trace_id  uuid NOT NULL,
            subject   text NOT NULL,
            rating    smallint NOT NULL CHECK (rating IN (-1, 1)),
            seq       bigserial UNIQUE,
            rated_at  timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (trace_id, subject)
        );
        CREATE TABLE alerts (
            id          uuid PRIMARY KEY,
            rule        text NOT NULL,
            status      text NOT NULL CHECK (status IN ('firing', 'resolved')),
            value       double precision NOT NULL,
            threshold   double precision NOT NULL,
            detail      jsonb NOT NULL DEFAULT '{}',
            fired_at    timestamptz NOT NULL DEFAULT now(),
            resolved_at timestamptz
        );
        CREATE TABLE monitor_reference (
            id          boolean PRIMARY KEY DEFAULT true CHECK (id),
            first_seq   bigint NOT NULL,
            pinned_by   text NOT NULL,
            pinned_at   timestamptz NOT NULL DEFAULT now()
        );
        CREATE UNIQUE INDEX alerts_one_firing ON alerts (rule) WHERE status = 'firing';
        CREATE INDEX alerts_fired ON alerts (fired_at DESC);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE monitor_reference; DROP TABLE alerts; DROP TABLE ratings; DROP TABLE observations")
