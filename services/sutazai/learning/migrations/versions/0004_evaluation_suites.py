"""Evaluation suites: versioned sets of cases (question, accepted answers or a number with a
tolerance, optional collection, tags).

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
        CREATE TABLE eval_suites (
            suite_id    uuid PRIMARY KEY,
            name        text NOT NULL,
            version     integer NOT NULL CHECK (version >= 1),
            description text NOT NULL DEFAULT '',
            source      text NOT NULL DEFAULT 'import',
            digest      text NOT NULL,
            cases       integer NOT NULL,
            created_by  text NOT NULL,
            created_at  timestamptz NOT NULL DEFAULT now(),
            UNIQUE (name, version)
        );
        COMMENT ON COLUMN eval_suites.digest IS 'SHA-256 of the canonical cases: importing the same cases again '
            'adds no version';
        CREATE TABLE eval_cases (
            suite_id   uuid NOT NULL REFERENCES eval_suites ON DELETE CASCADE,
            position   integer NOT NULL,
            case_id    text NOT NULL,
            question   text NOT NULL,
            answers    text[] NOT NULL DEFAULT '{}',
            numeric    numeric,
            tolerance  numeric NOT NULL DEFAULT 0,
            collection text,
            tags       text[] NOT NULL DEFAULT '{}',
            PRIMARY KEY (suite_id, case_id),
            UNIQUE (suite_id, position),
            CHECK (numeric IS NOT NULL OR cardinality(answers) > 0)
        );
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE eval_cases; DROP TABLE eval_suites;")
