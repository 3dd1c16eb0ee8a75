CREATE TYPE delivery_status AS ENUM ('pending', 'delivered', 'failed');

CREATE TABLE endpoints (
  id           UUID PRIMARY KEY,
  brand_id     TEXT NOT NULL,
  url          TEXT NOT NULL,
  secret_hash  TEXT NOT NULL,
  events       TEXT[] NOT NULL DEFAULT '{}',
  active       BOOLEAN NOT NULL DEFAULT true
);

CREATE TABLE inbound_deliveries (
  id           UUID PRIMARY KEY,
  brand_id     TEXT NOT NULL,
  source       TEXT NOT NULL,
  event_type   TEXT NOT NULL,
  payload      JSONB NOT NULL,
  status       TEXT NOT NULL,
  error        TEXT,
  received_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX inbound_deliveries_time_idx ON inbound_deliveries (received_at);

CREATE TABLE outbound_deliveries (
  id               UUID PRIMARY KEY,
  brand_id         TEXT NOT NULL,
  endpoint_id      UUID NOT NULL REFERENCES endpoints (id),
  event_type       TEXT NOT NULL,
  payload          JSONB NOT NULL,
  attempt          INTEGER NOT NULL DEFAULT 1,
  status           delivery_status NOT NULL,
  response_code    INTEGER,
  next_attempt_at  TIMESTAMPTZ,
  delivered_at     TIMESTAMPTZ
);
CREATE INDEX outbound_deliveries_endpoint_idx ON outbound_deliveries (endpoint_id);
CREATE INDEX outbound_deliveries_pending_idx ON outbound_deliveries (next_attempt_at) WHERE status = 'pending';
