CREATE TYPE red_flag_severity AS ENUM ('low', 'medium', 'high', 'critical');

CREATE TABLE biomarkers (
  id           UUID PRIMARY KEY,
  brand_id     TEXT NOT NULL,
  user_id      TEXT NOT NULL,
  code         TEXT NOT NULL,
  name         TEXT NOT NULL,
  value        NUMERIC(12, 4) NOT NULL,
  unit         TEXT NOT NULL,
  measured_at  TIMESTAMPTZ NOT NULL,
  source       TEXT NOT NULL
);
CREATE INDEX biomarkers_user_idx ON biomarkers (user_id, measured_at);

CREATE TABLE protocols (
  id          UUID PRIMARY KEY,
  brand_id    TEXT NOT NULL,
  user_id     TEXT NOT NULL,
  name        TEXT NOT NULL,
  status      TEXT NOT NULL,
  details     JSONB,
  started_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX protocols_user_idx ON protocols (user_id);

CREATE TABLE recommendations (
  id           UUID PRIMARY KEY,
  brand_id     TEXT NOT NULL,
  protocol_id  UUID NOT NULL REFERENCES protocols (id),
  user_id      TEXT NOT NULL,
  body         TEXT NOT NULL,
  status       TEXT NOT NULL,
  created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX recommendations_protocol_idx ON recommendations (protocol_id);
CREATE INDEX recommendations_user_idx ON recommendations (user_id);

CREATE TABLE red_flags (
  id               UUID PRIMARY KEY,
  brand_id         TEXT NOT NULL,
  biomarker_id     UUID NOT NULL REFERENCES biomarkers (id),
  user_id          TEXT NOT NULL,
  severity         red_flag_severity NOT NULL,
  note             TEXT,
  raised_at        TIMESTAMPTZ NOT NULL,
  acknowledged_at  TIMESTAMPTZ,
  acknowledged_by  TEXT
);
CREATE INDEX red_flags_biomarker_idx ON red_flags (biomarker_id);
CREATE INDEX red_flags_user_idx ON red_flags (user_id);
