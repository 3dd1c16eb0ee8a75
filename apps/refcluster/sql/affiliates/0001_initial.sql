CREATE TYPE payout_status AS ENUM ('pending', 'held', 'paid', 'failed');

CREATE TABLE affiliates (
  id         UUID PRIMARY KEY,
  brand_id   TEXT NOT NULL,
  user_id    TEXT NOT NULL,
  code       TEXT NOT NULL UNIQUE,
  status     TEXT NOT NULL,
  tier       TEXT NOT NULL,
  joined_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX affiliates_user_idx ON affiliates (user_id);

CREATE TABLE attributions (
  id                UUID PRIMARY KEY,
  brand_id          TEXT NOT NULL,
  affiliate_id      UUID NOT NULL REFERENCES affiliates (id),
  customer_user_id  TEXT NOT NULL,
  order_id          TEXT,
  channel           TEXT NOT NULL,
  attributed_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX attributions_affiliate_idx ON attributions (affiliate_id);
CREATE INDEX attributions_customer_idx ON attributions (customer_user_id);

CREATE TABLE commissions (
  id              UUID PRIMARY KEY,
  brand_id        TEXT NOT NULL,
  affiliate_id    UUID NOT NULL REFERENCES affiliates (id),
  attribution_id  UUID NOT NULL REFERENCES attributions (id),
  amount_cents    BIGINT NOT NULL,
  status          TEXT NOT NULL
);
CREATE INDEX commissions_affiliate_idx ON commissions (affiliate_id);
CREATE INDEX commissions_attribution_idx ON commissions (attribution_id);

CREATE TABLE payouts (
  id             UUID PRIMARY KEY,
  brand_id       TEXT NOT NULL,
  affiliate_id   UUID NOT NULL REFERENCES affiliates (id),
  amount_cents   BIGINT NOT NULL,
  status         payout_status NOT NULL,
  scheduled_for  DATE NOT NULL,
  paid_at        TIMESTAMPTZ
);
CREATE INDEX payouts_affiliate_idx ON payouts (affiliate_id);
