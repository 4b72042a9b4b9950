"""Evaluation runs: a suite against a configuration, one row per finished case (written as each
case finishes, so a killed worker loses none).

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
        CREATE TABLE eval_runs (
            run_id       uuid PRIMARY KEY,
            suite_id     uuid NOT NULL REFERENCES eval_suites ON DELETE CASCADE,
            label        text NOT NULL,
            config       jsonb NOT NULL,
            status       text NOT NULL CHECK (status IN ('queued', 'running', 'done', 'cancelled', 'failed')),
            total        integer NOT NULL,
            key_id       text,
            credential   text,
            error        text,
            created_by   text NOT NULL,
            created_at   timestamptz NOT NULL DEFAULT now(),
            started_at   timestamptz,
            finished_at  timestamptz
        );
        COMMENT ON COLUMN eval_runs.credential IS
            'the run''s own narrow API key (Vault transit ciphertext in Compose), revoked when the run ends';
        CREATE TABLE eval_results (
            run_id     uuid NOT NULL REFERENCES eval_runs ON DELETE CASCADE,
            case_id    text NOT NULL,
            position   integer NOT NULL,
            answer     text NOT NULL DEFAULT '',
            correct    boolean NOT NULL,
            abstained  boolean NOT NULL,
            confidence double precision,
            latency_s  double precision,
            tokens     integer,
            trace_id   uuid,
            error      text,
            finished_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (run_id, case_id)
        );
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE eval_results; DROP TABLE eval_runs;")
