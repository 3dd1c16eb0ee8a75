CREATE TYPE wearable_provider AS ENUM ('oura', 'whoop', 'apple_health', 'garmin');

CREATE TABLE wearable_connections (
  id                UUID PRIMARY KEY,
  brand_id          TEXT NOT NULL,
  user_id           TEXT NOT NULL,
  provider          wearable_provider NOT NULL,
  status            TEXT NOT NULL,
  connected_at      TIMESTAMPTZ NOT NULL,
  token_expires_at  TIMESTAMPTZ
);
CREATE INDEX wearable_connections_user_idx ON wearable_connections (user_id);

CREATE TABLE sync_runs (
  id             UUID PRIMARY KEY,
  brand_id       TEXT NOT NULL,
  connection_id  UUID NOT NULL REFERENCES wearable_connections (id),
  status         TEXT NOT NULL,
  records        INTEGER NOT NULL DEFAULT 0,
  error          TEXT,
  started_at     TIMESTAMPTZ NOT NULL,
  finished_at    TIMESTAMPTZ
);
CREATE INDEX sync_runs_connection_idx ON sync_runs (connection_id, started_at);
