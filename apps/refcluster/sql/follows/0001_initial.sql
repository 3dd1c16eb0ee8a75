CREATE TABLE follows (
  follower_id  TEXT NOT NULL,
  followee_id  TEXT NOT NULL,
  brand_id     TEXT NOT NULL,
  created_at   TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (follower_id, followee_id)
);
CREATE INDEX follows_followee_idx ON follows (followee_id);

CREATE TABLE blocks (
  id          UUID PRIMARY KEY,
  brand_id    TEXT NOT NULL,
  blocker_id  TEXT NOT NULL,
  blocked_id  TEXT NOT NULL,
  created_at  TIMESTAMPTZ NOT NULL,
  UNIQUE (blocker_id, blocked_id)
);
CREATE INDEX blocks_blocked_idx ON blocks (blocked_id);
