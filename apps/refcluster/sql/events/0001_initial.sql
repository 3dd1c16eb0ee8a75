CREATE TABLE outbox (
  id              BIGSERIAL PRIMARY KEY,
  brand_id        TEXT NOT NULL,
  aggregate_type  TEXT NOT NULL,
  aggregate_id    TEXT NOT NULL,
  event_type      TEXT NOT NULL,
  payload         JSONB NOT NULL,
  created_at      TIMESTAMPTZ NOT NULL,
  published_at    TIMESTAMPTZ
);
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_aggregate_idx ON outbox (aggregate_type, aggregate_id);

CREATE TABLE delivery_audit (
  id            UUID PRIMARY KEY,
  brand_id      TEXT NOT NULL,
  outbox_id     BIGINT NOT NULL REFERENCES outbox (id),
  consumer      TEXT NOT NULL,
  status        TEXT NOT NULL,
  error         TEXT,
  attempted_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX delivery_audit_outbox_idx ON delivery_audit (outbox_id);
