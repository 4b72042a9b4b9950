"""The audit log becomes a hash chain (prev_hash, hash); existing entries are chained in id order.

Revision ID: 0003
Revises: 0002
"""

import json

from alembic import op
from sqlalchemy import text

from sutazai.identity.audit_chain import GENESIS, entry_hash

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE audit_log ADD COLUMN prev_hash text, ADD COLUMN hash text")
    bind = op.get_bind()
    previous = GENESIS
    rows = bind.execute(text("SELECT id, at, actor, action, target, detail, request_id, collections "
                             "FROM audit_log ORDER BY id")).mappings().all()
    for row in rows:
        entry = dict(row)
        if isinstance(entry["detail"], str):
            entry["detail"] = json.loads(entry["detail"])
        digest = entry_hash(entry, previous)
        bind.execute(text("UPDATE audit_log SET prev_hash = :prev, hash = :hash WHERE id = :id"),
                     {"prev": previous, "hash": digest, "id": entry["id"]})
        previous = digest
    op.execute("CREATE UNIQUE INDEX audit_log_hash ON audit_log (hash)")


def downgrade() -> None:
    op.execute("DROP INDEX audit_log_hash; ALTER TABLE audit_log DROP COLUMN prev_hash, DROP COLUMN hash")
