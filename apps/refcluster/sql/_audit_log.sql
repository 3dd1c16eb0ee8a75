-- The platform's standard audit table, identical in every service schema (rule 4).
-- Applied by the migration runner to every schema as version 0000_audit_log, with
-- search_path set to that schema. Append-only: the owner keeps INSERT and SELECT only.
CREATE TABLE audit_log (
  id              UUID PRIMARY KEY,
  occurred_at     TIMESTAMPTZ NOT NULL,
  actor_type      TEXT NOT NULL,
  actor_id        TEXT NOT NULL,
  actor_brand_id  TEXT,
  event_type      TEXT NOT NULL,
  entity_type     TEXT,
  entity_id       TEXT,
  brand_id        TEXT NOT NULL,
  request_id      TEXT,
  details         JSONB
);

CREATE INDEX audit_log_time_idx ON audit_log (occurred_at, id);
CREATE INDEX audit_log_brand_time_idx ON audit_log (brand_id, occurred_at, id);
CREATE INDEX audit_log_actor_time_idx ON audit_log (actor_id, occurred_at, id);
CREATE INDEX audit_log_request_idx ON audit_log (request_id);
CREATE INDEX audit_log_entity_idx ON audit_log (entity_type, entity_id, occurred_at);

REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM CURRENT_USER;
