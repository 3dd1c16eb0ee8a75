CREATE TABLE customer_profiles (
  id             UUID PRIMARY KEY,
  brand_id       TEXT NOT NULL,
  user_id        TEXT NOT NULL UNIQUE,
  date_of_birth  DATE,
  sex            TEXT,
  conditions     TEXT[] NOT NULL DEFAULT '{}',
  medications    JSONB,
  updated_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE order_history (
  id                   UUID PRIMARY KEY,
  brand_id             TEXT NOT NULL,
  customer_profile_id  UUID NOT NULL REFERENCES customer_profiles (id),
  order_id             TEXT NOT NULL,
  summary              JSONB,
  ordered_at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX order_history_profile_idx ON order_history (customer_profile_id, ordered_at);

CREATE TABLE wearable_syncs (
  id                   UUID PRIMARY KEY,
  brand_id             TEXT NOT NULL,
  customer_profile_id  UUID NOT NULL REFERENCES customer_profiles (id),
  device               TEXT NOT NULL,
  metric               TEXT NOT NULL,
  value                NUMERIC(12, 4) NOT NULL,
  recorded_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX wearable_syncs_profile_idx ON wearable_syncs (customer_profile_id, recorded_at);
