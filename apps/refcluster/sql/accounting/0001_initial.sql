CREATE TYPE entry_type AS ENUM ('debit', 'credit');

CREATE TABLE accounts (
  id          UUID PRIMARY KEY,
  brand_id    TEXT NOT NULL,
  owner_type  TEXT NOT NULL,
  owner_id    TEXT NOT NULL,
  currency    CHAR(3) NOT NULL,
  kind        TEXT NOT NULL
);
CREATE INDEX accounts_owner_idx ON accounts (owner_type, owner_id);

CREATE TABLE transactions (
  id              UUID PRIMARY KEY,
  brand_id        TEXT NOT NULL,
  account_id      UUID NOT NULL REFERENCES accounts (id),
  amount_cents    BIGINT NOT NULL,
  entry_type      entry_type NOT NULL,
  reference_type  TEXT,
  reference_id    TEXT,
  occurred_at     TIMESTAMPTZ NOT NULL,
  request_id      TEXT
);
CREATE INDEX transactions_account_time_idx ON transactions (account_id, occurred_at);
CREATE INDEX transactions_reference_idx ON transactions (reference_type, reference_id);
CREATE INDEX transactions_brand_time_idx ON transactions (brand_id, occurred_at);

-- Rule 6: the ledger is append-only, whoever asks.
CREATE FUNCTION reject_ledger_mutation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'accounting.transactions is append-only: % is not allowed; post a compensating entry', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER transactions_no_update BEFORE UPDATE ON transactions
  FOR EACH ROW EXECUTE FUNCTION reject_ledger_mutation();
CREATE TRIGGER transactions_no_delete BEFORE DELETE ON transactions
  FOR EACH ROW EXECUTE FUNCTION reject_ledger_mutation();
CREATE TRIGGER transactions_no_truncate BEFORE TRUNCATE ON transactions
  FOR EACH STATEMENT EXECUTE FUNCTION reject_ledger_mutation();

CREATE TABLE balances (
  account_id     UUID PRIMARY KEY REFERENCES accounts (id),
  brand_id       TEXT NOT NULL,
  balance_cents  BIGINT NOT NULL,
  as_of          TIMESTAMPTZ NOT NULL
);
