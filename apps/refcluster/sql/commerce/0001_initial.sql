CREATE TYPE order_status AS ENUM ('pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded');

CREATE TABLE carts (
  id          UUID PRIMARY KEY,
  brand_id    TEXT NOT NULL,
  user_id     TEXT NOT NULL,
  status      TEXT NOT NULL,
  updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX carts_user_idx ON carts (user_id);

CREATE TABLE cart_items (
  id                UUID PRIMARY KEY,
  brand_id          TEXT NOT NULL,
  cart_id           UUID NOT NULL REFERENCES carts (id),
  sku               TEXT NOT NULL,
  quantity          INTEGER NOT NULL CHECK (quantity > 0),
  unit_price_cents  BIGINT NOT NULL
);
CREATE INDEX cart_items_cart_idx ON cart_items (cart_id);

CREATE TABLE orders (
  id                UUID PRIMARY KEY,
  brand_id          TEXT NOT NULL,
  user_id           TEXT NOT NULL,
  number            TEXT NOT NULL UNIQUE,
  status            order_status NOT NULL,
  total_cents       BIGINT NOT NULL,
  currency          CHAR(3) NOT NULL,
  shipping_address  JSONB,
  placed_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX orders_user_idx ON orders (user_id, placed_at);
CREATE INDEX orders_brand_time_idx ON orders (brand_id, placed_at);

CREATE TABLE order_items (
  id                UUID PRIMARY KEY,
  brand_id          TEXT NOT NULL,
  order_id          UUID NOT NULL REFERENCES orders (id),
  sku               TEXT NOT NULL,
  quantity          INTEGER NOT NULL CHECK (quantity > 0),
  unit_price_cents  BIGINT NOT NULL
);
CREATE INDEX order_items_order_idx ON order_items (order_id);

CREATE TABLE subscriptions (
  id                        UUID PRIMARY KEY,
  brand_id                  TEXT NOT NULL,
  user_id                   TEXT NOT NULL,
  plan_sku                  TEXT NOT NULL,
  status                    TEXT NOT NULL,
  started_at                TIMESTAMPTZ NOT NULL,
  cancelled_at              TIMESTAMPTZ,
  next_renewal_at           TIMESTAMPTZ,
  payments_subscription_id  TEXT
);
CREATE INDEX commerce_subscriptions_user_idx ON subscriptions (user_id);
