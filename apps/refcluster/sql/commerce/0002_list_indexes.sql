-- The back-office lists newest first; without an index led by the time column that is a sort of the whole table.
CREATE INDEX orders_placed_at_idx ON orders (placed_at, id);
