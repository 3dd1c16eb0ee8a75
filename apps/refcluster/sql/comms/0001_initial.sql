CREATE TYPE message_channel AS ENUM ('email', 'sms', 'push');

CREATE TABLE messages (
  id            UUID PRIMARY KEY,
  brand_id      TEXT NOT NULL,
  user_id       TEXT NOT NULL,
  channel       message_channel NOT NULL,
  template      TEXT NOT NULL,
  status        TEXT NOT NULL,
  provider_ref  TEXT,
  sent_at       TIMESTAMPTZ
);
CREATE INDEX messages_user_idx ON messages (user_id, sent_at);

CREATE TABLE inbox_items (
  id           UUID PRIMARY KEY,
  brand_id     TEXT NOT NULL,
  message_id   UUID NOT NULL REFERENCES messages (id),
  user_id      TEXT NOT NULL,
  read_at      TIMESTAMPTZ,
  archived_at  TIMESTAMPTZ
);
CREATE INDEX inbox_items_message_idx ON inbox_items (message_id);
CREATE INDEX inbox_items_user_idx ON inbox_items (user_id);

CREATE TABLE preferences (
  id         UUID PRIMARY KEY,
  brand_id   TEXT NOT NULL,
  user_id    TEXT NOT NULL,
  channel    message_channel NOT NULL,
  topic      TEXT NOT NULL,
  opted_in   BOOLEAN NOT NULL,
  UNIQUE (user_id, channel, topic)
);

CREATE TABLE suppressions (
  id          UUID PRIMARY KEY,
  brand_id    TEXT NOT NULL,
  address     TEXT NOT NULL,
  channel     message_channel NOT NULL,
  reason      TEXT NOT NULL,
  created_by  TEXT NOT NULL,
  created_at  TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX suppressions_address_key ON suppressions (brand_id, channel, lower(address));
CREATE INDEX suppressions_address_idx ON suppressions (lower(address));
