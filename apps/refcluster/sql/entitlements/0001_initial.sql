CREATE TABLE features (
  id           UUID PRIMARY KEY,
  brand_id     TEXT NOT NULL,
  key          TEXT NOT NULL,
  description  TEXT,
  UNIQUE (brand_id, key)
);

CREATE TABLE tier_features (
  id          UUID PRIMARY KEY,
  brand_id    TEXT NOT NULL,
  feature_id  UUID NOT NULL REFERENCES features (id),
  tier_id     TEXT NOT NULL,
  limits      JSONB,
  UNIQUE (feature_id, tier_id)
);
CREATE INDEX tier_features_tier_idx ON tier_features (tier_id);
