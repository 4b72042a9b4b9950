"""Revoked bearer tokens (sign-out) and the collections each audit entry concerns.

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
        CREATE TABLE revoked_tokens (
            jti        text PRIMARY KEY,
            subject    text NOT NULL,
            expires_at timestamptz NOT NULL,
            revoked_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX revoked_tokens_expiry ON revoked_tokens (expires_at);
        ALTER TABLE audit_log ADD COLUMN collections text[];
        COMMENT ON COLUMN audit_log.collections IS
            'collections the entry concerns; NULL: the whole platform (seen only by unrestricted admins)';
        """
    )


def downgrade() -> None:
    op.execute("ALTER TABLE audit_log DROP COLUMN collections; DROP TABLE revoked_tokens;")
