CREATE TYPE cash_entry_kind AS ENUM ('earn', 'redeem', 'expire', 'adjust');

CREATE TABLE wallets (
  id             UUID PRIMARY KEY,
  brand_id       TEXT NOT NULL,
  user_id        TEXT NOT NULL UNIQUE,
  balance_cents  BIGINT NOT NULL DEFAULT 0,
  updated_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE ledger_entries (
  id              UUID PRIMARY KEY,
  brand_id        TEXT NOT NULL,
  wallet_id       UUID NOT NULL REFERENCES wallets (id),
  amount_cents    BIGINT NOT NULL,
  kind            cash_entry_kind NOT NULL,
  reference_type  TEXT,
  reference_id    TEXT,
  occurred_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX ledger_entries_wallet_idx ON ledger_entries (wallet_id, occurred_at);
