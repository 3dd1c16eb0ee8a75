CREATE TABLE job_runs (
  id           UUID PRIMARY KEY,
  brand_id     TEXT NOT NULL,
  job_name     TEXT NOT NULL,
  status       TEXT NOT NULL,
  attempt      INTEGER NOT NULL DEFAULT 1,
  args         JSONB,
  error        TEXT,
  started_at   TIMESTAMPTZ NOT NULL,
  finished_at  TIMESTAMPTZ
);
CREATE INDEX job_runs_name_time_idx ON job_runs (job_name, started_at);
