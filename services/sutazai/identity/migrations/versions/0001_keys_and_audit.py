"""API keys (stored hashed) and the audit log.

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
        CREATE TABLE api_keys (
            key_id       text PRIMARY KEY,
            name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
            role         text NOT NULL CHECK (role IN ('admin', 'user', 'service')),
            secret_hash  text NOT NULL,
            collections  text[] NOT NULL DEFAULT '{}',
            created_by   text NOT NULL,
            created_at   timestamptz NOT NULL DEFAULT now(),
            last_used_at timestamptz,
            revoked_at   timestamptz
        );
        CREATE TABLE audit_log (
            id         bigserial PRIMARY KEY,
            at         timestamptz NOT NULL DEFAULT now(),
            actor      text NOT NULL,
            action     text NOT NULL,
            target     text,
            detail     jsonb NOT NULL DEFAULT '{}',
            request_id text
        );
        CREATE INDEX audit_log_at ON audit_log (at DESC);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE audit_log; DROP TABLE api_keys;")
