-- The back-office lists newest first; without an index led by the time column that is a sort of the whole table.
CREATE INDEX ledger_entries_occurred_at_idx ON ledger_entries (occurred_at, id);
