CREATE TYPE brand_status AS ENUM ('active', 'paused', 'retired');

CREATE TABLE brands (
  id          TEXT PRIMARY KEY,
  brand_id    TEXT NOT NULL,
  name        TEXT NOT NULL,
  status      brand_status NOT NULL DEFAULT 'active',
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT brands_brand_is_self CHECK (brand_id = id)
);

CREATE TABLE settings (
  id          UUID PRIMARY KEY,
  brand_id    TEXT NOT NULL REFERENCES brands (id),
  key         TEXT NOT NULL,
  value       JSONB NOT NULL,
  updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (brand_id, key)
);
