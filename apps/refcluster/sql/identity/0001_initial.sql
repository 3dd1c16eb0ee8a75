CREATE TYPE user_status AS ENUM ('active', 'locked', 'deleted');
CREATE TYPE token_kind AS ENUM ('access', 'refresh');

CREATE TABLE users (
  id             UUID PRIMARY KEY,
  brand_id       TEXT NOT NULL,
  email          TEXT NOT NULL,
  phone          TEXT,
  display_name   TEXT,
  status         user_status NOT NULL DEFAULT 'active',
  mfa_enabled    BOOLEAN NOT NULL DEFAULT false,
  created_at     TIMESTAMPTZ NOT NULL,
  last_login_at  TIMESTAMPTZ
);
CREATE UNIQUE INDEX users_brand_email_key ON users (brand_id, lower(email));
CREATE INDEX users_email_lower_idx ON users (lower(email));
CREATE INDEX users_phone_idx ON users (phone);
CREATE INDEX users_brand_created_idx ON users (brand_id, created_at);

CREATE TABLE oauth_clients (
  id             UUID PRIMARY KEY,
  brand_id       TEXT NOT NULL,
  client_id      TEXT NOT NULL UNIQUE,
  name           TEXT NOT NULL,
  redirect_uris  TEXT[] NOT NULL DEFAULT '{}',
  scopes         TEXT[] NOT NULL DEFAULT '{}'
);

CREATE TABLE grants (
  id               UUID PRIMARY KEY,
  brand_id         TEXT NOT NULL,
  user_id          UUID NOT NULL REFERENCES users (id),
  oauth_client_id  UUID NOT NULL REFERENCES oauth_clients (id),
  scopes           TEXT[] NOT NULL DEFAULT '{}',
  granted_at       TIMESTAMPTZ NOT NULL,
  revoked_at       TIMESTAMPTZ
);
CREATE INDEX grants_user_idx ON grants (user_id);
CREATE INDEX grants_client_idx ON grants (oauth_client_id);

CREATE TABLE tokens (
  id          UUID PRIMARY KEY,
  brand_id    TEXT NOT NULL,
  grant_id    UUID NOT NULL REFERENCES grants (id),
  kind        token_kind NOT NULL,
  token_hash  TEXT NOT NULL UNIQUE,
  expires_at  TIMESTAMPTZ NOT NULL,
  revoked_at  TIMESTAMPTZ
);
CREATE INDEX tokens_grant_idx ON tokens (grant_id);

CREATE TABLE sessions (
  id          UUID PRIMARY KEY,
  brand_id    TEXT NOT NULL,
  user_id     UUID NOT NULL REFERENCES users (id),
  ip          INET,
  user_agent  TEXT,
  created_at  TIMESTAMPTZ NOT NULL,
  expires_at  TIMESTAMPTZ NOT NULL,
  revoked_at  TIMESTAMPTZ
);
CREATE INDEX sessions_user_idx ON sessions (user_id, created_at);

CREATE TABLE role_assignments (
  id           UUID PRIMARY KEY,
  brand_id     TEXT NOT NULL,
  user_id      UUID NOT NULL REFERENCES users (id),
  role         TEXT NOT NULL,
  scope        TEXT NOT NULL,
  assigned_by  TEXT NOT NULL
);
CREATE INDEX role_assignments_user_idx ON role_assignments (user_id);
