-- The back-office lists newest first; without an index led by the time column that is a sort of the whole table.
CREATE INDEX charges_created_at_idx ON charges (created_at, id);
