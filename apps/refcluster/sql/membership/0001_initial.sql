CREATE TABLE tiers (
  id        UUID PRIMARY KEY,
  brand_id  TEXT NOT NULL,
  name      TEXT NOT NULL,
  rank      INTEGER NOT NULL,
  benefits  JSONB,
  UNIQUE (brand_id, rank)
);

CREATE TABLE member_status (
  id        UUID PRIMARY KEY,
  brand_id  TEXT NOT NULL,
  tier_id   UUID NOT NULL REFERENCES tiers (id),
  user_id   TEXT NOT NULL,
  status    TEXT NOT NULL,
  since     TIMESTAMPTZ NOT NULL,
  until     TIMESTAMPTZ
);
CREATE INDEX member_status_user_idx ON member_status (user_id);
CREATE INDEX member_status_tier_idx ON member_status (tier_id);

CREATE TABLE commission_locks (
  id            UUID PRIMARY KEY,
  brand_id      TEXT NOT NULL,
  user_id       TEXT NOT NULL,
  affiliate_id  TEXT NOT NULL,
  locked_until  TIMESTAMPTZ NOT NULL,
  reason        TEXT
);
CREATE INDEX commission_locks_user_idx ON commission_locks (user_id);
