"""Connectors: sources the knowledge service syncs into one collection each (a folder, a Git
repository, an IMAP mailbox, an intranet site), the items each has synced (so a sync adds only
what is new or changed, removes what disappeared, and resumes where an interrupted one stopped),
and a record of every sync run with its counts and errors.

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
        CREATE TABLE connectors (
            id uuid PRIMARY KEY,
            name text NOT NULL UNIQUE,
            kind text NOT NULL CHECK (kind IN ('folder', 'git', 'imap', 'web')),
            collection text NOT NULL,
            config jsonb NOT NULL,
            secret text,
            every_seconds integer CHECK (every_seconds IS NULL OR every_seconds >= 60),
            next_sync_at timestamptz,
            requested_by text,
            lease_until timestamptz,
            created_by text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX connectors_due ON connectors (next_sync_at) WHERE next_sync_at IS NOT NULL;
        CREATE TABLE connector_items (
            connector_id uuid NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
            item text NOT NULL,
            version text NOT NULL,
            document_ids uuid[] NOT NULL DEFAULT '{}',
            synced_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (connector_id, item)
        );
        CREATE TABLE connector_runs (
            id uuid PRIMARY KEY,
            connector_id uuid NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
            trigger text NOT NULL CHECK (trigger IN ('schedule', 'manual')),
            requested_by text,
            state text NOT NULL CHECK (state IN ('running', 'done', 'failed', 'interrupted')),
            seen integer NOT NULL DEFAULT 0,
            added integer NOT NULL DEFAULT 0,
            changed integer NOT NULL DEFAULT 0,
            unchanged integer NOT NULL DEFAULT 0,
            deleted integer NOT NULL DEFAULT 0,
            failed integer NOT NULL DEFAULT 0,
            errors jsonb NOT NULL DEFAULT '[]',
            error text,
            started_at timestamptz NOT NULL DEFAULT now(),
            finished_at timestamptz
        );
        CREATE INDEX connector_runs_latest ON connector_runs (connector_id, started_at DESC);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE connector_runs; DROP TABLE connector_items; DROP TABLE connectors;")
