-- The back-office lists newest first; without an index led by the time column that is a sort of the whole table.
CREATE INDEX messages_sent_at_idx ON messages (sent_at, id);
