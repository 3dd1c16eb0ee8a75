-- The back-office lists newest first; without an index led by the time column that is a sort of the whole table.
CREATE INDEX transactions_occurred_at_idx ON transactions (occurred_at, id);
