CREATE TABLE events (
  id            BIGSERIAL PRIMARY KEY,
  brand_id      TEXT NOT NULL,
  user_id       TEXT,
  anonymous_id  TEXT,
  name          TEXT NOT NULL,
  properties    JSONB,
  occurred_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX events_brand_time_idx ON events (brand_id, occurred_at);
CREATE INDEX events_user_time_idx ON events (user_id, occurred_at);
CREATE INDEX events_time_idx ON events (occurred_at);

CREATE TABLE attributions (
  id              UUID PRIMARY KEY,
  brand_id        TEXT NOT NULL,
  user_id         TEXT NOT NULL,
  source          TEXT,
  medium          TEXT,
  campaign        TEXT,
  first_touch_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX analytics_attributions_user_idx ON attributions (user_id);

CREATE TABLE cohorts (
  id          UUID PRIMARY KEY,
  brand_id    TEXT NOT NULL,
  name        TEXT NOT NULL,
  definition  JSONB NOT NULL
);

CREATE TABLE outcomes (
  id           UUID PRIMARY KEY,
  brand_id     TEXT NOT NULL,
  user_id      TEXT NOT NULL,
  metric       TEXT NOT NULL,
  value        NUMERIC(14, 4) NOT NULL,
  measured_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX outcomes_user_idx ON outcomes (user_id, measured_at);
