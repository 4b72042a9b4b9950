"""Settings an admin (or an approved proposal) sets at run time besides model routes: the
retrieval depth and fusion weights, one JSON value per name.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE settings (
            name text PRIMARY KEY,
            value jsonb NOT NULL,
            updated_by text NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now()
        )""")


def downgrade() -> None:
    op.execute("DROP TABLE settings")
