"""Documents (content-addressed blobs), ingestion jobs, chunks, the PostgreSQL search index
(full-text + pgvector) and the entity registry used for resolution.

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
        CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public;
        CREATE TABLE blobs (
            sha256     text PRIMARY KEY,
            content    bytea NOT NULL,
            size       integer NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE documents (
            id          uuid PRIMARY KEY,
            collection  text NOT NULL,
            source      text NOT NULL,
            title       text,
            media_type  text NOT NULL,
            sha256      text NOT NULL REFERENCES blobs(sha256),
            version     integer NOT NULL DEFAULT 1,
            tags        text[] NOT NULL DEFAULT '{}',
            doc_date    date NOT NULL DEFAULT current_date,
            status      text NOT NULL CHECK (status IN ('queued', 'processing', 'ready', 'failed')),
            error       text,
            chunk_count integer NOT NULL DEFAULT 0,
            created_by  text NOT NULL,
            created_at  timestamptz NOT NULL DEFAULT now(),
            updated_at  timestamptz NOT NULL DEFAULT now(),
            UNIQUE (collection, source)
        );
        CREATE TABLE texts (
            document_id uuid NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            version     integer NOT NULL,
            content     text NOT NULL,
            PRIMARY KEY (document_id, version)
        );
        CREATE TABLE jobs (
            id          uuid PRIMARY KEY,
            document_id uuid NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            collection  text NOT NULL,
            version     integer NOT NULL,
            state       text NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
            progress    real NOT NULL DEFAULT 0,
            stage       text,
            error       text,
            attempts    integer NOT NULL DEFAULT 0,
            created_at  timestamptz NOT NULL DEFAULT now(),
            updated_at  timestamptz NOT NULL DEFAULT now(),
            finished_at timestamptz
        );
        CREATE TABLE chunks (
            id           uuid PRIMARY KEY,
            document_id  uuid NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            collection   text NOT NULL,
            version      integer NOT NULL,
            ordinal      integer NOT NULL,
            start_offset integer NOT NULL,
            end_offset   integer NOT NULL,
            page         integer,
            heading      text,
            text         text NOT NULL,
            UNIQUE (document_id, version, ordinal)
        );
        CREATE TABLE chunk_index (
            chunk_id    uuid PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
            document_id uuid NOT NULL,
            collection  text NOT NULL,
            tags        text[] NOT NULL DEFAULT '{}',
            doc_date    date NOT NULL,
            tsv         tsvector NOT NULL,
            embedding   public.vector(384) NOT NULL
        );
        CREATE INDEX chunk_index_tsv ON chunk_index USING gin (tsv);
        CREATE INDEX chunk_index_embedding ON chunk_index USING hnsw (embedding public.vector_cosine_ops);
        CREATE INDEX chunk_index_collection ON chunk_index (collection, document_id);
        CREATE TABLE entities (
            id         uuid PRIMARY KEY,
            collection text NOT NULL,
            name       text NOT NULL,
            norm       text NOT NULL,
            type       text NOT NULL,
            aliases    text[] NOT NULL DEFAULT '{}',
            embedding  public.vector(384) NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (collection, norm)
        );
        CREATE INDEX entities_embedding ON entities USING hnsw (embedding public.vector_cosine_ops);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE entities, chunk_index, chunks, jobs, texts, documents, blobs;")
