-- The back-office lists newest first; without an index led by the time column that is a sort of the whole table.
CREATE INDEX biomarkers_measured_at_idx ON biomarkers (measured_at, id);
