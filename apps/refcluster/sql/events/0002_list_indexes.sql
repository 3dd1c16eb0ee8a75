-- The back-office lists newest first; without an index led by the time column that is a sort of the whole table.
CREATE INDEX delivery_audit_attempted_at_idx ON delivery_audit (attempted_at, id);
