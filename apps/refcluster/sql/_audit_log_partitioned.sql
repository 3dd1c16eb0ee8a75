-- The platform's standard audit table as a large platform builds it (cluster_seed --partitioned):
-- the same columns, declaratively partitioned by month on occurred_at. Applied instead of
-- _audit_log.sql, as the same version 0000_audit_log, with search_path set to the schema.
-- A partitioned table's primary key must contain its partition key: (id, occurred_at). Indexes
-- are declared once on the parent; PostgreSQL builds them on every partition, present and future.
SET LOCAL TimeZone = 'UTC';  -- month boundaries are UTC midnights

CREATE TABLE audit_log (
  id              UUID NOT NULL,
  occurred_at     TIMESTAMPTZ NOT NULL,
  actor_type      TEXT NOT NULL,
  actor_id        TEXT NOT NULL,
  actor_brand_id  TEXT,
  event_type      TEXT NOT NULL,
  entity_type     TEXT,
  entity_id       TEXT,
  brand_id        TEXT NOT NULL,
  request_id      TEXT,
  details         JSONB,
  PRIMARY KEY (id, occurred_at)
) PARTITION BY RANGE (occurred_at);

CREATE INDEX audit_log_time_idx ON audit_log (occurred_at, id);
CREATE INDEX audit_log_brand_time_idx ON audit_log (brand_id, occurred_at, id);
CREATE INDEX audit_log_actor_time_idx ON audit_log (actor_id, occurred_at, id);
CREATE INDEX audit_log_request_idx ON audit_log (request_id);
CREATE INDEX audit_log_entity_idx ON audit_log (entity_type, entity_id, occurred_at);

-- One partition per UTC month around the generator's anchored time span (2025-10 .. 2026-10)
-- and the months a demo writes in; anything else lands in the default partition. A service
-- creates next month's partition ahead of time (a scheduled job, pg_partman) and revokes as below.
DO $$
DECLARE
  month timestamptz;
  name text;
BEGIN
  FOR month IN
    SELECT generate_series(timestamptz '2025-09-01 00:00+00', timestamptz '2027-06-01 00:00+00', interval '1 month')
  LOOP
    name := 'audit_log_' || to_char(month AT TIME ZONE 'UTC', 'YYYY_MM');
    EXECUTE format('CREATE TABLE %I PARTITION OF audit_log FOR VALUES FROM (%L) TO (%L)',
                   name, month, month + interval '1 month');
    -- Append-only holds per partition too: the parent's grants do not reach a partition named directly.
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I FROM CURRENT_USER', name);
  END LOOP;
END $$;
CREATE TABLE audit_log_default PARTITION OF audit_log DEFAULT;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log_default FROM CURRENT_USER;

REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM CURRENT_USER;
