CREATE TYPE charge_status AS ENUM ('pending', 'succeeded', 'failed', 'refunded', 'partially_refunded');

CREATE TABLE charges (
  id             UUID PRIMARY KEY,
  brand_id       TEXT NOT NULL,
  user_id        TEXT NOT NULL,
  order_id       TEXT,
  amount_cents   BIGINT NOT NULL CHECK (amount_cents >= 0),
  currency       CHAR(3) NOT NULL,
  status         charge_status NOT NULL,
  processor      TEXT NOT NULL,
  processor_ref  TEXT,
  created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX charges_user_idx ON charges (user_id, created_at);
CREATE INDEX charges_order_idx ON charges (order_id);
CREATE UNIQUE INDEX charges_processor_ref_key ON charges (processor, processor_ref);
CREATE INDEX charges_processor_ref_idx ON charges (processor_ref);
CREATE INDEX charges_brand_time_idx ON charges (brand_id, created_at);

CREATE TABLE refunds (
  id            UUID PRIMARY KEY,
  brand_id      TEXT NOT NULL,
  charge_id     UUID NOT NULL REFERENCES charges (id),
  amount_cents  BIGINT NOT NULL CHECK (amount_cents > 0),
  reason        TEXT,
  status        TEXT NOT NULL,
  requested_by  TEXT NOT NULL,
  created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX refunds_charge_idx ON refunds (charge_id);

CREATE TABLE disputes (
  id            UUID PRIMARY KEY,
  brand_id      TEXT NOT NULL,
  charge_id     UUID NOT NULL REFERENCES charges (id),
  reason        TEXT NOT NULL,
  status        TEXT NOT NULL,
  amount_cents  BIGINT NOT NULL,
  evidence      JSONB,
  opened_at     TIMESTAMPTZ NOT NULL,
  closed_at     TIMESTAMPTZ
);
CREATE INDEX disputes_charge_idx ON disputes (charge_id);

CREATE TABLE subscriptions (
  id                  UUID PRIMARY KEY,
  brand_id            TEXT NOT NULL,
  user_id             TEXT NOT NULL,
  plan                TEXT NOT NULL,
  status              TEXT NOT NULL,
  current_period_end  TIMESTAMPTZ,
  processor_ref       TEXT
);
CREATE INDEX payments_subscriptions_user_idx ON subscriptions (user_id);
