"""Two-stage ingestion: a document is searchable once indexed; graph extraction follows as its
own job ('graph'), chunk by chunk, so it can resume where it stopped and report what it has read.

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
        ALTER TABLE jobs ADD COLUMN kind text NOT NULL DEFAULT 'index' CHECK (kind IN ('index', 'graph'));
        ALTER TABLE chunks ADD COLUMN graph_read boolean NOT NULL DEFAULT false;
        CREATE INDEX chunks_graph_unread ON chunks (document_id, version, ordinal) WHERE NOT graph_read;
        ALTER TABLE documents
            ADD COLUMN graph_status text NOT NULL DEFAULT 'off'
                CHECK (graph_status IN ('off', 'pending', 'extracting', 'done', 'failed')),
            ADD COLUMN graph_error text;
        UPDATE documents SET graph_status = 'done' WHERE status = 'ready';
        UPDATE chunks SET graph_read = true;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE documents DROP COLUMN graph_error, DROP COLUMN graph_status;
        DROP INDEX chunks_graph_unread;
        ALTER TABLE chunks DROP COLUMN graph_read;
        ALTER TABLE jobs DROP COLUMN kind;
        """
    )
