"""Internal MCP servers an admin registers: where each is, its sealed credential, who may use its
tools (collections, lowest role), its time and output limits, and the tools it offered when last
listed (with their input schemas, each checked to be a valid JSON schema).

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE mcp_servers (
            id uuid PRIMARY KEY,
            name text NOT NULL UNIQUE,
            url text NOT NULL,
            secret text,
            collections text[] NOT NULL DEFAULT '{}',
            min_role text NOT NULL DEFAULT 'user' CHECK (min_role IN ('user', 'service', 'admin')),
            timeout_seconds double precision NOT NULL CHECK (timeout_seconds > 0),
            max_output_chars integer NOT NULL CHECK (max_output_chars > 0),
            tools jsonb NOT NULL DEFAULT '[]',
            refused jsonb NOT NULL DEFAULT '[]',
            listed_at timestamptz,
            created_by text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        )""")


def downgrade() -> None:
    op.execute("DROP TABLE mcp_servers")
