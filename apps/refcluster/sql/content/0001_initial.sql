-- Payload CMS collections: SERIAL integer ids.
CREATE TABLE pages (
  id            SERIAL PRIMARY KEY,
  brand_id      TEXT NOT NULL,
  slug          TEXT NOT NULL,
  title         TEXT NOT NULL,
  status        TEXT NOT NULL,
  layout        JSONB,
  published_at  TIMESTAMPTZ,
  UNIQUE (brand_id, slug)
);

CREATE TABLE articles (
  id            SERIAL PRIMARY KEY,
  brand_id      TEXT NOT NULL,
  slug          TEXT NOT NULL,
  title         TEXT NOT NULL,
  author        TEXT,
  body          JSONB,
  published_at  TIMESTAMPTZ,
  UNIQUE (brand_id, slug)
);

CREATE TABLE media (
  id         SERIAL PRIMARY KEY,
  brand_id   TEXT NOT NULL,
  filename   TEXT NOT NULL,
  mime_type  TEXT NOT NULL,
  filesize   INTEGER NOT NULL,
  url        TEXT NOT NULL,
  alt        TEXT
);
