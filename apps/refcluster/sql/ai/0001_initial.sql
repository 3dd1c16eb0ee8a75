CREATE TABLE conversations (
  id          UUID PRIMARY KEY,
  brand_id    TEXT NOT NULL,
  user_id     TEXT NOT NULL,
  title       TEXT,
  started_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX conversations_user_idx ON conversations (user_id, started_at);

CREATE TABLE conversation_messages (
  id               UUID PRIMARY KEY,
  brand_id         TEXT NOT NULL,
  conversation_id  UUID NOT NULL REFERENCES conversations (id),
  role             TEXT NOT NULL,
  content          TEXT NOT NULL,
  created_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX conversation_messages_conversation_idx ON conversation_messages (conversation_id, created_at);

CREATE TABLE corpus_documents (
  id          UUID PRIMARY KEY,
  brand_id    TEXT NOT NULL,
  source      TEXT NOT NULL,
  title       TEXT NOT NULL,
  body        TEXT NOT NULL,
  updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE embeddings (
  id           UUID PRIMARY KEY,
  brand_id     TEXT NOT NULL,
  document_id  UUID NOT NULL REFERENCES corpus_documents (id),
  chunk        INTEGER NOT NULL,
  embedding    REAL[] NOT NULL,
  created_at   TIMESTAMPTZ NOT NULL,
  UNIQUE (document_id, chunk)
);
