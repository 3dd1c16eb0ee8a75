CREATE TABLE providers (
  id             UUID PRIMARY KEY,
  brand_id       TEXT NOT NULL,
  name           TEXT NOT NULL,
  specialty      TEXT NOT NULL,
  license_state  CHAR(2) NOT NULL,
  active         BOOLEAN NOT NULL DEFAULT true
);

CREATE TABLE availability (
  id           UUID PRIMARY KEY,
  brand_id     TEXT NOT NULL,
  provider_id  UUID NOT NULL REFERENCES providers (id),
  starts_at    TIMESTAMPTZ NOT NULL,
  ends_at      TIMESTAMPTZ NOT NULL,
  status       TEXT NOT NULL,
  CHECK (ends_at > starts_at)
);
CREATE INDEX availability_provider_idx ON availability (provider_id, starts_at);

CREATE TABLE visits (
  id            UUID PRIMARY KEY,
  brand_id      TEXT NOT NULL,
  provider_id   UUID NOT NULL REFERENCES providers (id),
  user_id       TEXT NOT NULL,
  visit_type    TEXT NOT NULL,
  status        TEXT NOT NULL,
  scheduled_at  TIMESTAMPTZ NOT NULL,
  notes         TEXT
);
CREATE INDEX visits_user_idx ON visits (user_id, scheduled_at);
CREATE INDEX visits_provider_idx ON visits (provider_id, scheduled_at);
