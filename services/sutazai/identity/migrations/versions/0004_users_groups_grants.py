"""Users (local passwords or single sign-on), groups, per-collection grants to users or groups,
directory group mappings, and API keys that belong to a user.

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
        CREATE TABLE users (
            user_id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            username             text NOT NULL UNIQUE,
            display_name         text NOT NULL DEFAULT '',
            email                text,
            password_hash        text,
            source               text NOT NULL DEFAULT 'local' CHECK (source IN ('local', 'ldap', 'oidc')),
            external_id          text,
            created_by           text NOT NULL,
            created_at           timestamptz NOT NULL DEFAULT now(),
            disabled_at          timestamptz,
            sessions_valid_after timestamptz NOT NULL DEFAULT now(),
            failed_sign_ins      integer NOT NULL DEFAULT 0,
            locked_until         timestamptz,
            last_sign_in_at      timestamptz
        );
        COMMENT ON COLUMN users.password_hash IS 'Argon2id; NULL: the user signs in only through single sign-on';
        COMMENT ON COLUMN users.sessions_valid_after IS
            'bearer tokens issued before this instant are refused (password change, disable, sign out everywhere)';
        CREATE UNIQUE INDEX users_external ON users (source, external_id) WHERE external_id IS NOT NULL;

        CREATE TABLE groups (
            group_id    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            name        text NOT NULL UNIQUE,
            description text NOT NULL DEFAULT '',
            created_by  text NOT NULL,
            created_at  timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE group_members (
            group_id uuid NOT NULL REFERENCES groups ON DELETE CASCADE,
            user_id  uuid NOT NULL REFERENCES users ON DELETE CASCADE,
            source   text NOT NULL DEFAULT 'local',
            added_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (group_id, user_id)
        );
        COMMENT ON COLUMN group_members.source IS 'local, or the directory (ldap, oidc) that asserted the membership';
        CREATE INDEX group_members_user ON group_members (user_id);

        CREATE TABLE grants (
            grant_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            user_id    uuid REFERENCES users ON DELETE CASCADE,
            group_id   uuid REFERENCES groups ON DELETE CASCADE,
            collection text NOT NULL,
            role       text NOT NULL CHECK (role IN ('user', 'service', 'admin')),
            granted_by text NOT NULL,
            granted_at timestamptz NOT NULL DEFAULT now(),
            CHECK ((user_id IS NULL) <> (group_id IS NULL))
        );
        COMMENT ON COLUMN grants.collection IS 'a collection name, or * for every collection';
        CREATE UNIQUE INDEX grants_user ON grants (user_id, collection) WHERE user_id IS NOT NULL;
        CREATE UNIQUE INDEX grants_group ON grants (group_id, collection) WHERE group_id IS NOT NULL;

        CREATE TABLE directory_mappings (
            provider       text NOT NULL CHECK (provider IN ('ldap', 'oidc')),
            external_group text NOT NULL,
            group_id       uuid NOT NULL REFERENCES groups ON DELETE CASCADE,
            created_by     text NOT NULL,
            created_at     timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (provider, external_group, group_id)
        );
        COMMENT ON TABLE directory_mappings IS
            'a directory group (LDAP DN or OIDC groups claim value) whose members belong to a SutazAI group';

        ALTER TABLE api_keys ADD COLUMN user_id uuid REFERENCES users ON DELETE CASCADE;
        COMMENT ON COLUMN api_keys.user_id IS
            'the owner: the key never grants more than the owner holds now; NULL: an operator key from the CLI';
        """
    )


def downgrade() -> None:
    op.execute(
        """ALTER TABLE api_keys DROP COLUMN user_id;
           DROP TABLE directory_mappings; DROP TABLE grants; DROP TABLE group_members;
           DROP TABLE groups; DROP TABLE users;"""
    )
