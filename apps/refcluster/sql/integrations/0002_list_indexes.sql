-- Lists of 100,000+ rows the back-office shows newest first (found by
-- `bench_changelists --all` on the large seed): without an index led by the time column each
-- first page is a sort of the whole table (50-100 ms at the large seed, seconds at 10x).
CREATE INDEX sync_runs_started_at_idx ON sync_runs (started_at, id);
