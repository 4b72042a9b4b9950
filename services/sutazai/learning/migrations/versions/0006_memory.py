"""Procedural memory: corrections people make to answers (reviewed by an admin of the
collection), the exemplars approved corrections and well-rated answers become, and passages
marked wrong for a question (demoted for similar questions).

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE corrections (
            id             uuid PRIMARY KEY,
            trace_id       uuid NOT NULL,
            subject        text NOT NULL,
            collection     text NOT NULL,
            question       text NOT NULL,
            given_answer   text NOT NULL DEFAULT '',
            answer         text NOT NULL CHECK (char_length(btrim(answer)) BETWEEN 1 AND 4000),
            passage        jsonb,
            wrong_passages jsonb NOT NULL DEFAULT '[]',
            note           text,
            status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
            reviewed_by    text,
            reviewed_at    timestamptz,
            review_note    text,
            created_at     timestamptz NOT NULL DEFAULT now(),
            UNIQUE (trace_id, subject)
        );
        CREATE INDEX corrections_pending ON corrections (collection, created_at DESC) WHERE status = 'pending';
        CREATE TABLE exemplars (
            id          uuid PRIMARY KEY,
            collection  text NOT NULL,
            question    text NOT NULL,
            answer      text NOT NULL,
            passage     jsonb,
            origin      text NOT NULL CHECK (origin IN ('correction', 'rating', 'teacher')),
            origin_id   text NOT NULL,
            trace_id    uuid,
            active      boolean NOT NULL DEFAULT true,
            created_by  text NOT NULL,
            created_at  timestamptz NOT NULL DEFAULT now(),
            retired_at  timestamptz,
            UNIQUE (origin, origin_id)
        );
        CREATE INDEX exemplars_active ON exemplars (collection) WHERE active;
        CREATE TABLE demotions (
            id            uuid PRIMARY KEY,
            collection    text NOT NULL,
            question      text NOT NULL,
            chunk_id      text NOT NULL,
            correction_id uuid NOT NULL REFERENCES corrections ON DELETE CASCADE,
            active        boolean NOT NULL DEFAULT true,
            created_at    timestamptz NOT NULL DEFAULT now(),
            UNIQUE (correction_id, chunk_id)
        );
        CREATE INDEX demotions_active ON demotions (collection) WHERE active;
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE demotions; DROP TABLE exemplars; DROP TABLE corrections;")
