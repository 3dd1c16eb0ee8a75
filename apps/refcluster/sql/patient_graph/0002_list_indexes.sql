-- Lists of 100,000+ rows the back-office shows newest first (found by
-- `bench_changelists --all` on the large seed): without an index led by the time column each
-- first page is a sort of the whole table (50-100 ms at the large seed, seconds at 10x).
CREATE INDEX customer_profiles_updated_at_idx ON customer_profiles (updated_at, id);
CREATE INDEX order_history_ordered_at_idx ON order_history (ordered_at, id);
CREATE INDEX wearable_syncs_recorded_at_idx ON wearable_syncs (recorded_at, id);
