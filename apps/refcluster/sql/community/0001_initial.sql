CREATE TYPE post_status AS ENUM ('visible', 'hidden', 'removed');

CREATE TABLE posts (
  id              UUID PRIMARY KEY,
  brand_id        TEXT NOT NULL,
  author_user_id  TEXT NOT NULL,
  body            TEXT NOT NULL,
  status          post_status NOT NULL DEFAULT 'visible',
  created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX posts_author_idx ON posts (author_user_id, created_at);
CREATE INDEX posts_brand_time_idx ON posts (brand_id, created_at);

CREATE TABLE comments (
  id              UUID PRIMARY KEY,
  brand_id        TEXT NOT NULL,
  post_id         UUID NOT NULL REFERENCES posts (id),
  author_user_id  TEXT NOT NULL,
  body            TEXT NOT NULL,
  status          post_status NOT NULL DEFAULT 'visible'
);
CREATE INDEX comments_post_idx ON comments (post_id);
CREATE INDEX comments_author_idx ON comments (author_user_id);

CREATE TABLE likes (
  post_id     UUID NOT NULL REFERENCES posts (id),
  user_id     TEXT NOT NULL,
  brand_id    TEXT NOT NULL,
  created_at  TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (post_id, user_id)
);
CREATE INDEX likes_user_idx ON likes (user_id);
