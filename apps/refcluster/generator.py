"""Deterministic synthetic data for the reference platform cluster.

Everything is generated server-side with ``INSERT ... SELECT ... FROM generate_series(...)``:
Python only plans the statements. Every value is a pure function of (seed, kind, key), through
a few helper SQL functions installed in ``pg_temp`` for the seeding session:

* ``pg_temp.gid(kind, key)``: ``md5('<seed>:<kind>:<key>')::uuid``, the id of row ``key``;
* ``pg_temp.u(kind, key)``: a uniform number in [0, 1) from the first 32 bits of the same hash;
* ``pg_temp.pick(kind, key, n)``: an integer in [0, n) from those bits, ``(h32 * n) >> 32``.

The id and pick functions are mirrored in Python (``entity_id``, ``user_id``, ``order_id``, ...)
so a test can name a row. Time is anchored, never ``now()``: timestamps fall between
2025-10-01 and 2026-11-01 UTC. The same seed and scale give byte-identical data.

Cross-service ids always name an existing row of the same brand. A user's brand is a pure
function of the user index (``user_brand``). Conventions worth knowing when reading the data:

* ``accounting.balances.balance_cents`` is credits minus debits of the account's transactions.
  Each succeeded charge credits the customer's account and debits the brand's clearing account;
  a refund does the opposite, so all balances sum to zero.
* ``cash.wallets.balance_cents`` is the sum of the wallet's signed ledger amounts (earn positive;
  redeem, expire and refund adjustments negative), never below zero.
* A checkout (order ``k``) leaves audit rows in commerce, payments, accounting, cash and comms
  sharing ``checkout_request_id(k)``; a failed charge leaves no ledger or cash rows.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, LiteralString, TypedDict

import psycopg
from psycopg import ClientCursor, sql

from backoffice.platform_schemas import SCHEMA_NAMES

# --------------------------------------------------------------------------------------------
# Scales


@dataclass(frozen=True)
class Scale:
    """How much data to generate. Other volumes follow from ``users`` by fixed per-user rates."""

    name: str
    users: int
    orders: int  # all orders, the heavy user's included
    heavy_user_orders: int  # orders 1..heavy_user_orders belong to HEAVY_USER_INDEX
    analytics_events: int
    audit_misc_per_service: int  # service-specific audit rows per schema, besides the flows
    messages_per_user: float = 3.0  # comms messages besides the checkout emails
    articles_per_brand: int = 20
    chunk_rows: int = 250_000  # rows per INSERT step of the big tables, so progress moves
    # Drop a big table's plain indexes for the load and rebuild them afterwards: several times
    # faster than maintaining five random-order B-trees row by row.
    rebuild_indexes: bool = False


SCALES: dict[str, Scale] = {
    "test": Scale(
        name="test",
        users=300,
        orders=1_200,
        heavy_user_orders=120,
        analytics_events=4_000,
        audit_misc_per_service=60,
        articles_per_brand=6,
    ),
    "demo": Scale(
        name="demo",
        users=5_000,
        orders=15_000,
        heavy_user_orders=600,
        analytics_events=150_000,
        audit_misc_per_service=1_500,
        articles_per_brand=40,
    ),
    "large": Scale(
        name="large",
        users=200_000,
        orders=700_000,
        heavy_user_orders=5_000,
        analytics_events=5_200_000,
        audit_misc_per_service=450_000,
        articles_per_brand=400,
        rebuild_indexes=True,
    ),
}

# --------------------------------------------------------------------------------------------
# Fixed vocabulary


@dataclass(frozen=True)
class Brand:
    id: str
    name: str
    status: str  # platform.brand_status
    currency: str
    cash_bps: int  # cash earned per order, basis points of the total
    user_share: int  # percent of users


BRANDS: tuple[Brand, ...] = (
    Brand("capri", "Capri Health", "active", "USD", 500, 45),
    Brand("loop", "Loop", "active", "USD", 300, 30),
    Brand("helix", "Helix Labs", "active", "GBP", 200, 13),
    Brand("arbor", "Arbor Wellness", "active", "CAD", 400, 9),
    Brand("juniper", "Juniper", "paused", "USD", 100, 3),
    Brand("ember", "Ember", "retired", "USD", 100, 0),  # retired before any user signed up
)
BRAND_IDS: tuple[str, ...] = tuple(b.id for b in BRANDS)


@dataclass(frozen=True)
class KnownUser:
    index: int
    brand: str
    email: str
    display_name: str


HEAVY_USER_INDEX = 1
KNOWN_CAPRI_USER_INDEX = 2
KNOWN_LOOP_USER_INDEX = 3
KNOWN_USERS: dict[int, KnownUser] = {
    # Orders 1..scale.heavy_user_orders are this user's: hundreds to thousands of them.
    HEAVY_USER_INDEX: KnownUser(HEAVY_USER_INDEX, "capri", "harper.quinn@example.com", "Harper Quinn"),
    KNOWN_CAPRI_USER_INDEX: KnownUser(
        KNOWN_CAPRI_USER_INDEX, "capri", "noah.patel@example.com", "Noah Patel"
    ),
    KNOWN_LOOP_USER_INDEX: KnownUser(KNOWN_LOOP_USER_INDEX, "loop", "mia.laurent@example.com", "Mia Laurent"),
}
HEAVY_USER_EMAIL = KNOWN_USERS[HEAVY_USER_INDEX].email

FIRST_NAMES = (
    "ava", "liam", "olivia", "noah", "emma", "mateo", "sofia", "lucas", "amara", "kenji",
    "zoe", "omar", "isla", "ravi", "chloe", "diego", "nina", "felix", "leila", "hugo",
    "maya", "theo", "aisha", "jonas", "ines", "ethan", "priya", "oscar", "yara", "samuel",
)  # fmt: skip
LAST_NAMES = (
    "smith", "garcia", "chen", "okafor", "nguyen", "muller", "rossi", "kim", "silva", "haddad",
    "walker", "tanaka", "novak", "dubois", "khan", "larsen", "moreau", "ivanova", "santos", "brown",
    "cohen", "ali", "fischer", "lopez", "wright", "sato", "costa", "murphy", "singh", "evans",
)  # fmt: skip
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")

# (code, name, unit price in cents); a SKU is "<BRAND>-<code>".
PRODUCTS = (
    ("PROTEIN", "Plant protein", 4900),
    ("OMEGA3", "Omega-3", 2900),
    ("VITD3", "Vitamin D3", 1500),
    ("MAGNESIUM", "Magnesium glycinate", 2200),
    ("CREATINE", "Creatine", 3500),
    ("ELECTRO", "Electrolytes", 2800),
    ("PANEL", "Blood panel", 14900),
    ("COACH", "Coaching session", 9900),
    ("SLEEP", "Sleep stack", 3900),
    ("GREENS", "Greens blend", 4500),
)

T0 = datetime(2025, 10, 1, tzinfo=UTC)  # the data's time window: [T0, T1)
T1 = datetime(2026, 11, 1, tzinfo=UTC)
_T0S = int(T0.timestamp())
_T1S = int(T1.timestamp())
_DAY = 86_400
_STAFF = 40  # staff actors are "staff:1" .. "staff:40"
# Below this many rows, maintaining a table's indexes row by row costs less than rebuilding them.
_REBUILD_MIN_ROWS = 100_000

# --------------------------------------------------------------------------------------------
# Python mirrors of the SQL id functions


def _hex(kind: str, key: int | str, seed: int) -> str:
    return hashlib.md5(f"{seed}:{kind}:{key}".encode(), usedforsecurity=False).hexdigest()


def _pick(kind: str, key: int | str, n: int, seed: int) -> int:
    return (int(_hex(kind, key, seed)[:8], 16) * n) >> 32


def entity_id(kind: str, key: int | str, *, seed: int = 1) -> uuid.UUID:
    """The id ``pg_temp.gid(kind, key)`` gives, e.g. ``entity_id("refund", k)`` for order k's refund."""
    return uuid.UUID(_hex(kind, key, seed))


def user_id(i: int, *, seed: int = 1) -> uuid.UUID:
    """identity.users id of user ``i`` (1-based)."""
    return entity_id("user", i, seed=seed)


def user_brand(i: int, *, seed: int = 1) -> str:
    """The brand of user ``i``: the known users' own, otherwise by the brands' user shares."""
    if i in KNOWN_USERS:
        return KNOWN_USERS[i].brand
    bucket = _pick("user.brand", i, 100, seed)
    for brand, upper in _brand_thresholds():
        if bucket < upper:
            return brand
    raise AssertionError("brand shares must sum to 100")


def user_email(i: int, *, seed: int = 1) -> str:
    """identity.users email of user ``i`` (unique per brand, a few mixed-case)."""
    if i in KNOWN_USERS:
        return KNOWN_USERS[i].email
    first = FIRST_NAMES[_pick("user.first", i, len(FIRST_NAMES), seed)]
    last = LAST_NAMES[_pick("user.last", i, len(LAST_NAMES), seed)]
    if _pick("user.email_case", i, 100, seed) < 5:
        first, last = first.capitalize(), last.capitalize()
    return f"{first}.{last}{i}@{EMAIL_DOMAINS[_pick('user.domain', i, len(EMAIL_DOMAINS), seed)]}"


def user_account_id(i: int, *, seed: int = 1) -> uuid.UUID:
    """accounting.accounts id of user ``i``'s customer account."""
    return entity_id("account.user", i, seed=seed)


def wallet_id(i: int, *, seed: int = 1) -> uuid.UUID:
    """cash.wallets id of user ``i``."""
    return entity_id("wallet", i, seed=seed)


def order_id(k: int, *, seed: int = 1) -> uuid.UUID:
    """commerce.orders id of order ``k`` (1-based)."""
    return entity_id("order", k, seed=seed)


def order_number(k: int, *, scale: Scale, seed: int = 1) -> str:
    """commerce.orders number of order ``k``: the brand's prefix and k, e.g. ``CAP-00000042``."""
    brand = user_brand(order_user_index(k, scale=scale, seed=seed), seed=seed)
    return f"{brand[:3].upper()}-{k:08d}"


def order_user_index(k: int, *, scale: Scale, seed: int = 1) -> int:
    """The user index who placed order ``k``."""
    if k <= scale.heavy_user_orders:
        return HEAVY_USER_INDEX
    return 2 + _pick("order.user", k, scale.users - 1, seed)


def charge_id(k: int, *, seed: int = 1) -> uuid.UUID:
    """payments.charges id of order ``k``'s charge (one charge per order)."""
    return entity_id("charge", k, seed=seed)


def checkout_message_id(k: int, *, seed: int = 1) -> uuid.UUID:
    """comms.messages id of order ``k``'s confirmation (or payment-failed) email."""
    return entity_id("message.order", k, seed=seed)


def checkout_request_id(k: int, *, seed: int = 1) -> str:
    """The request_id shared by order ``k``'s checkout audit rows across services."""
    return "req_" + _hex("checkout", k, seed)[:24]


def heavy_user_orders(scale: Scale) -> range:
    """Order indices of the heavy user."""
    return range(1, scale.heavy_user_orders + 1)


def _brand_thresholds() -> Iterator[tuple[str, int]]:
    upper = 0
    for brand in BRANDS:
        if brand.user_share:
            upper += brand.user_share
            yield brand.id, upper


# --------------------------------------------------------------------------------------------
# Session helpers in pg_temp. The key is a row index (bigint) or, for children generated from
# an existing table, the parent row's id and a suffix (text).

# (name, arguments, result, body). Each is created twice, with ``key text`` and ``key bigint``;
# ``key::text`` is the decimal digits, as in the Python mirrors. (An explicit cast: ``text ||
# bigint`` is only STABLE, which would stop the planner from inlining the function.)
_KEYED_FUNCTIONS = (
    ("hex", "kind text, key {key}", "text", "SELECT md5({prefix} || kind || ':' || key::text)"),
    ("gid", "kind text, key {key}", "uuid", "SELECT pg_temp.hex(kind, key)::uuid"),
    (
        "h32",
        "kind text, key {key}",
        "bigint",
        "SELECT ('x' || substr(pg_temp.hex(kind, key), 1, 8))::bit(32)::bigint",
    ),
    ("u", "kind text, key {key}", "float8", "SELECT pg_temp.h32(kind, key) / 4294967296.0::float8"),
    # Integer arithmetic, not u() * n: the Python mirror must agree to the last bit.
    ("pick", "kind text, key {key}, n bigint", "bigint", "SELECT (pg_temp.h32(kind, key) * n) / 4294967296"),
    (
        "elem",
        "arr text[], kind text, key {key}",
        "text",
        "SELECT arr[1 + pg_temp.pick(kind, key, cardinality(arr))::int]",
    ),
    # A whole second in [lo, hi), both in seconds since the epoch.
    (
        "tsu",
        "kind text, key {key}, lo bigint, hi bigint",
        "timestamptz",
        "SELECT to_timestamp(lo + floor(pg_temp.u(kind, key) * (hi - lo)))",
    ),
    # Up to max_secs after t, shortened so it stays inside the data's window.
    (
        "after",
        "kind text, key {key}, t timestamptz, max_secs bigint",
        "timestamptz",
        "SELECT to_timestamp(pg_temp.epoch(t) + floor(pg_temp.u(kind, key)"
        " * greatest(0, least(max_secs, {last_second} - pg_temp.epoch(t)))))",
    ),
)
_FUNCTIONS = (
    # extract() from a timestamptz is only STABLE (not inlined here); from UTC wall time it is IMMUTABLE.
    ("epoch", "t timestamptz", "bigint", "SELECT extract(epoch FROM t AT TIME ZONE 'UTC')::bigint"),
    *_KEYED_FUNCTIONS,
    (
        "user_brand",
        "i bigint",
        "text",
        "SELECT CASE i {known_cases} ELSE (SELECT CASE {brand_cases} END"
        " FROM (SELECT pg_temp.pick('user.brand', i, 100) AS p) AS x) END",
    ),
    (
        "item_product",
        "k bigint, j bigint",
        "bigint",
        "SELECT pg_temp.pick('item.product', k * 4 + j, {n_products})",
    ),
    (
        "item_qty",
        "k bigint, j bigint",
        "bigint",
        "SELECT CASE WHEN pg_temp.pick('item.qty', k * 4 + j, 10) < 8 THEN 1"
        " ELSE 2 + pg_temp.pick('item.qty2', k * 4 + j, 2) END",
    ),
    # Line j of order k costs this: the orders' totals add up their lines without a join.
    (
        "item_total",
        "k bigint, j bigint",
        "bigint",
        "SELECT (ARRAY[{prices}]::bigint[])[1 + pg_temp.item_product(k, j)::int] * pg_temp.item_qty(k, j)",
    ),
)


def _helper_functions(seed: int) -> list[sql.Composed]:
    """CREATE statements for the session's helper functions, the seed and constants baked in."""
    constants = {
        "prefix": sql.Literal(f"{seed}:"),
        "last_second": sql.Literal(_T1S - 1),
        "n_products": sql.Literal(len(PRODUCTS)),
        "prices": sql.SQL(", ").join(sql.Literal(p[2]) for p in PRODUCTS),
        "known_cases": sql.SQL(" ").join(
            sql.SQL("WHEN {} THEN {}").format(sql.Literal(u.index), sql.Literal(u.brand))
            for u in KNOWN_USERS.values()
        ),
        "brand_cases": sql.SQL(" ").join(
            sql.SQL("WHEN p < {} THEN {}").format(sql.Literal(upper), sql.Literal(brand))
            for brand, upper in _brand_thresholds()
        ),
    }
    statements: list[sql.Composed] = []
    for name, args, returns, body in _FUNCTIONS:
        for key_type in ("text", "bigint") if "{key}" in args else ("",):
            statements.append(
                # IMMUTABLE single-SELECT SQL functions are inlined by the planner: no call overhead.
                sql.SQL(
                    "CREATE OR REPLACE FUNCTION pg_temp.{name}({args}) RETURNS {returns} "
                    "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$ {body} $fn$"
                ).format(
                    name=sql.Identifier(name),
                    args=sql.SQL(args).format(key=sql.SQL(key_type)),
                    returns=sql.SQL(returns),
                    body=sql.SQL(body).format(**constants),
                )
            )
    return statements


# --------------------------------------------------------------------------------------------
# Steps


_Statement = str | sql.SQL | sql.Composed


@dataclass(frozen=True)
class _Step:
    label: str
    table: str | None  # "schema.table" the counted statement inserts into
    sql: _Statement  # the counted statement
    params: Mapping[str, object] = field(default_factory=dict)
    before: tuple[_Statement, ...] = ()  # uncounted set-up statements (temp tables)
    after: tuple[_Statement, ...] = ()  # uncounted follow-ups (sequences)
    rows: float = 0  # expected rows, to choose the tables whose indexes are rebuilt


def _one(
    table: str,
    statement: _Statement,
    *,
    label: str | None = None,
    before: Sequence[_Statement] = (),
    after: Sequence[_Statement] = (),
) -> _Step:
    return _Step(label or table, table, statement, before=tuple(before), after=tuple(after))


def _chunked(
    table: str,
    statement: _Statement,
    *,
    first: int,
    last: int,
    rows_per_key: float,
    scale: Scale,
    label: str | None = None,
    before: Sequence[_Statement] = (),
    after: Sequence[_Statement] = (),
) -> list[_Step]:
    """Steps inserting keys first..last (``%(lo)s``..``%(hi)s``) about ``scale.chunk_rows`` rows each."""
    per_chunk = max(1, int(scale.chunk_rows / rows_per_key))
    count = max(1, math.ceil((last - first + 1) / per_chunk))
    steps = []
    for c in range(count):
        lo = first + c * per_chunk
        hi = min(last, lo + per_chunk - 1)
        name = label or table
        steps.append(
            _Step(
                name if count == 1 else f"{name} [{c + 1}/{count}]",
                table,
                statement,
                {"lo": lo, "hi": hi},
                before=tuple(before) if c == 0 else (),
                after=tuple(after) if c == count - 1 else (),
                rows=(hi - lo + 1) * rows_per_key,
            )
        )
    return steps


# --------------------------------------------------------------------------------------------
# Vocabulary handed to SQL as arrays

_WORDS: dict[str, tuple[str, ...]] = {
    "streets": ("Maple St", "Harbor Ave", "Cedar Ln", "Sunset Blvd", "King St", "Elm Rd", "Bay View Dr"),
    "cities": ("Austin", "Portland", "Denver", "Toronto", "London", "Oakland", "Leeds", "Calgary"),
    "user_agents": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/128.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
        "CapriApp/4.12.0 (iOS 18.0; iPhone15,3)",
        "LoopApp/2.3.1 (Android 15; Pixel 9)",
    ),
    # Repeats weight the draw: page views are the commonest event.
    "event_names": ("page_view",) * 4
    + ("product_viewed", "app_opened") * 2
    + (
        "add_to_cart",
        "checkout_started",
        "search",
        "content_viewed",
        "wearable_synced",
        "check_in_submitted",
        "login",
    ),
    "paths": ("/", "/shop", "/shop/protein", "/labs", "/community", "/articles", "/account", "/checkout"),
    "phrases": (
        "Week three of the sleep stack and my HRV is finally climbing.",
        "Anyone else doing the metabolic reset with a night-shift schedule?",
        "My ApoB came back lower than last quarter, small wins!",
        "Tips for remembering magnesium before bed?",
        "Hit a 30-day check-in streak today.",
        "The coaching session on protein timing was worth it.",
        "Is creatine fine to take on rest days?",
        "Sharing my morning routine: light, water, walk, then coffee.",
    ),
    "conditions": ("hypertension", "hypothyroidism", "prediabetes", "asthma", "migraine", "hyperlipidemia"),
    "medications": ("levothyroxine", "metformin", "lisinopril", "atorvastatin", "sertraline", "albuterol"),
}

# Biomarker catalog: code, name, unit, low and high of the generated range.
_BIOMARKERS = (
    ("LDL-C", "LDL cholesterol", "mg/dL", 60, 190),
    ("APOB", "Apolipoprotein B", "mg/dL", 50, 150),
    ("HBA1C", "Hemoglobin A1c", "%", 4.6, 7.2),
    ("TSH", "Thyroid stimulating hormone", "mIU/L", 0.3, 6.0),
    ("VITD", "Vitamin D, 25-hydroxy", "ng/mL", 12, 80),
    ("HSCRP", "hs-CRP", "mg/L", 0.2, 9.0),
    ("FERRITIN", "Ferritin", "ng/mL", 15, 400),
    ("TESTO", "Testosterone, total", "ng/dL", 250, 1100),
)


def _params(scale: Scale) -> dict[str, object]:
    """Values every statement may use (psycopg renders them client-side as literals)."""
    return {
        "users": scale.users,
        "orders": scale.orders,
        "heavy": scale.heavy_user_orders,
        "heavy_user": HEAVY_USER_INDEX,
        "t0": _T0S,
        "t1": _T1S,
        # Primary events stop a day early so follow-ups (charge, email, ledger) stay in the window.
        "t_end": _T1S - _DAY,
        # Users sign up over the first three quarters of the window, so each has a history.
        "signup_span": int((_T1S - _T0S) * 0.75),
        "staff": _STAFF,
        "providers_per_brand": 3 + scale.users // 2_000,
        "n_products": len(PRODUCTS),
        "n_brands": len(BRANDS),
        "articles": scale.articles_per_brand,
        "first_names": list(FIRST_NAMES),
        "last_names": list(LAST_NAMES),
        "domains": list(EMAIL_DOMAINS),
        "brand_ids": [b.id for b in BRANDS],
        "brand_names": [b.name for b in BRANDS],
        "brand_status": [b.status for b in BRANDS],
        "brand_currency": [b.currency for b in BRANDS],
        "brand_cash_bps": [b.cash_bps for b in BRANDS],
        "product_codes": [p[0] for p in PRODUCTS],
        "product_names": [p[1] for p in PRODUCTS],
        "product_prices": [p[2] for p in PRODUCTS],
        "known_index": list(KNOWN_USERS),
        "known_email": [u.email for u in KNOWN_USERS.values()],
        "known_name": [u.display_name for u in KNOWN_USERS.values()],
        "bm_code": [b[0] for b in _BIOMARKERS],
        "bm_name": [b[1] for b in _BIOMARKERS],
        "bm_unit": [b[2] for b in _BIOMARKERS],
        "bm_lo": [float(b[3]) for b in _BIOMARKERS],
        "bm_hi": [float(b[4]) for b in _BIOMARKERS],
        **{name: list(words) for name, words in _WORDS.items()},
    }


# --------------------------------------------------------------------------------------------
# Session temp tables: the brands, the catalog, the users and the orders, computed once and
# joined by every service's statements.

_TEMP_TABLES = ("_b", "_p", "_bm", "_known", "_u", "_o", "_a", "_e")
_PREPARE_BRANDS = (
    """
    CREATE TEMP TABLE _b AS
    SELECT t.b::int AS b, t.brand, t.name, t.status, t.currency, t.cash_bps
    FROM unnest(%(brand_ids)s::text[], %(brand_names)s::text[], %(brand_status)s::text[],
                %(brand_currency)s::text[], %(brand_cash_bps)s::int[])
         WITH ORDINALITY AS t(brand, name, status, currency, cash_bps, b)
    """,
    """
    CREATE TEMP TABLE _p AS
    SELECT (t.n - 1)::bigint AS n, t.code, t.name, t.price_cents
    FROM unnest(%(product_codes)s::text[], %(product_names)s::text[], %(product_prices)s::bigint[])
         WITH ORDINALITY AS t(code, name, price_cents, n)
    """,
    """
    CREATE TEMP TABLE _bm AS
    SELECT (t.n - 1)::bigint AS n, t.code, t.name, t.unit, t.lo, t.hi
    FROM unnest(%(bm_code)s::text[], %(bm_name)s::text[], %(bm_unit)s::text[],
                %(bm_lo)s::float8[], %(bm_hi)s::float8[]) WITH ORDINALITY AS t(code, name, unit, lo, hi, n)
    """,
)
_PREPARE_KNOWN = """
CREATE TEMP TABLE _known AS
SELECT * FROM unnest(%(known_index)s::bigint[], %(known_email)s::text[], %(known_name)s::text[])
              AS t(i, email, display_name)
"""

# brank is the user's 0-based rank within the brand: "a random user of the same brand" is the
# one at rank pick(..., brand_n), an indexed lookup instead of a scan. The known users (tests'
# fixtures) sign up on the first days and always get the optional rows (profile, cart, ...).
_PREPARE_USERS = """
CREATE TEMP TABLE _u AS
WITH base AS (
  SELECT g.i::bigint AS i, pg_temp.user_brand(g.i) AS brand, k.i IS NOT NULL AS known,
         CASE WHEN k.i IS NOT NULL THEN %(t0)s + 86400 * g.i
              ELSE %(t0)s + floor(pg_temp.u('user.created', g.i) * %(signup_span)s)::bigint END AS created_s,
         pg_temp.elem(%(first_names)s::text[], 'user.first', g.i) AS first_name,
         pg_temp.elem(%(last_names)s::text[], 'user.last', g.i) AS last_name
  FROM generate_series(1, %(users)s) AS g(i) LEFT JOIN _known AS k ON k.i = g.i
)
SELECT base.i, pg_temp.gid('user', base.i) AS id, base.brand, _b.b, base.known, base.i = %(heavy_user)s AS heavy,
       row_number() OVER (PARTITION BY base.brand ORDER BY base.i) - 1 AS brank,
       count(*) OVER (PARTITION BY base.brand) AS brand_n,
       base.created_s,
       base.created_s + floor((%(t_end)s - base.created_s)
                              * (0.6 + 0.4 * pg_temp.u('user.last_login', base.i)))::bigint AS last_login_s,
       coalesce(k.email,
                CASE WHEN pg_temp.pick('user.email_case', base.i, 100) < 5
                     THEN initcap(first_name) || '.' || initcap(last_name)
                     ELSE first_name || '.' || last_name END
                || base.i || '@' || pg_temp.elem(%(domains)s::text[], 'user.domain', base.i)) AS email,
       coalesce(k.display_name, initcap(first_name) || ' ' || initcap(last_name)) AS display_name,
       -- 7919 is prime to 10^7: every user gets a distinct number.
       CASE WHEN pg_temp.pick('user.phone', base.i, 10) > 0
            THEN '+1555' || lpad(mod(base.i * 7919, 10000000)::text, 7, '0') END AS phone,
       CASE WHEN base.known THEN 'active'
            WHEN pg_temp.pick('user.status', base.i, 100) < 3 THEN 'locked'
            WHEN pg_temp.pick('user.status', base.i, 100) < 5 THEN 'deleted'
            ELSE 'active' END AS status,
       pg_temp.pick('user.mfa', base.i, 100) < 25 AS mfa,
       CASE WHEN base.i = %(heavy_user)s THEN 150 ELSE 1 + pg_temp.pick('user.sessions', base.i, 6) END AS n_sessions,
       base.known OR pg_temp.pick('user.profile', base.i, 100) < 55 AS profiled
FROM base JOIN _b USING (brand) LEFT JOIN _known AS k ON k.i = base.i
"""
_INDEX_USERS = (
    "CREATE UNIQUE INDEX ON _u (i)",
    "CREATE UNIQUE INDEX ON _u (brand, brank)",
    "CREATE UNIQUE INDEX ON _u (id)",
    "ANALYZE _u",
)

# One row per order with everything its services derive from it: who, when, how much, how
# the charge went, the refund and the cash follow-up, and the checkout's request id.
_PREPARE_ORDERS = """
CREATE TEMP TABLE _o AS
WITH base AS (
  SELECT k::bigint AS k,
         -- The heavy user is user 1; the other orders go to users 2..n.
         CASE WHEN k <= %(heavy)s THEN %(heavy_user)s ELSE 2 + pg_temp.pick('order.user', k, %(users)s - 1) END AS uidx,
         1 + pg_temp.pick('order.items', k, 3) AS n_items,  -- at most 3: item_total(k, 1..3) below
         pg_temp.pick('charge.status', k, 1000) AS cs
  FROM generate_series(1, %(orders)s) AS k
-- MATERIALIZED: an inlined CTE would recompute total's hashes at every reference below.
), priced AS MATERIALIZED (
  SELECT base.*, u.id::text AS user_id, u.brand, u.b, _b.currency, _b.cash_bps,
         u.created_s + floor(pg_temp.u('order.placed', base.k) * (%(t_end)s - u.created_s))::bigint AS placed_s,
         pg_temp.item_total(base.k, 1) + CASE WHEN base.n_items >= 2 THEN pg_temp.item_total(base.k, 2) ELSE 0 END
         + CASE WHEN base.n_items >= 3 THEN pg_temp.item_total(base.k, 3) ELSE 0 END AS total,
         CASE WHEN base.cs < 875 THEN 'succeeded' WHEN base.cs < 930 THEN 'failed'
              WHEN base.cs < 965 THEN 'refunded' WHEN base.cs < 990 THEN 'partially_refunded'
              ELSE 'pending' END AS charge_status
  FROM base JOIN _u AS u ON u.i = base.uidx JOIN _b ON _b.b = u.b
), settled AS MATERIALIZED (
  SELECT priced.*,
         charge_status IN ('succeeded', 'refunded', 'partially_refunded') AS paid,
         CASE charge_status WHEN 'refunded' THEN total
              WHEN 'partially_refunded' THEN floor(total * (0.2 + 0.4 * pg_temp.u('refund.share', k)))::bigint
         END AS refund_amount,
         least(placed_s + 3600 + floor(pg_temp.u('refund.at', k) * 30 * 86400)::bigint, %(t1)s - 60) AS refund_s,
         CASE WHEN pg_temp.pick('refund.by', k, 100) < 70
              THEN 'staff:' || (1 + pg_temp.pick('refund.staff', k, %(staff)s)) END AS refund_by,
         pg_temp.pick('cash.follow', k, 100) AS fp
  FROM priced
)
SELECT k, pg_temp.gid('order', k) AS id, uidx, user_id, brand, b, currency, n_items, total, placed_s,
       upper(left(brand, 3)) || '-' || lpad(k::text, 8, '0') AS number,
       charge_status, paid,
       CASE WHEN charge_status = 'succeeded'
            THEN CASE WHEN pg_temp.pick('order.fulfilment', k, 100) < 70 THEN 'delivered'
                      WHEN pg_temp.pick('order.fulfilment', k, 100) < 90 THEN 'shipped' ELSE 'paid' END
            WHEN charge_status = 'partially_refunded' THEN 'delivered'
            WHEN charge_status = 'refunded' THEN 'refunded'
            WHEN charge_status = 'failed' THEN 'cancelled'
            ELSE 'pending' END AS order_status,
       CASE WHEN pg_temp.pick('charge.processor', k, 100) < 85 THEN 'stripe' ELSE 'adyen' END AS processor,
       CASE WHEN charge_status = 'failed' THEN 'payment_failed' ELSE 'order_confirmation' END AS template,
       'req_' || substr(pg_temp.hex('checkout', k), 1, 24) AS req,
       refund_amount, CASE WHEN refund_amount IS NOT NULL THEN refund_s END AS refund_s, refund_by,
       'req_' || substr(pg_temp.hex('refund.request', k), 1, 24) AS refund_req,
       CASE WHEN paid THEN total * cash_bps / 10000 END AS earn,
       -- At most one debit per earn entry, never more than it: wallets never go negative.
       CASE WHEN charge_status = 'refunded' THEN 'adjust'
            WHEN paid AND fp < 30 THEN 'redeem'
            WHEN paid AND fp < 40 AND placed_s + 180 * 86400 < %(t1)s THEN 'expire' END AS cash_follow,
       CASE WHEN charge_status = 'refunded' THEN refund_s + 4
            WHEN paid AND fp < 30
            THEN least(placed_s + 86400 + floor(pg_temp.u('cash.redeem_at', k) * 90 * 86400)::bigint, %(t1)s - 1)
            ELSE placed_s + 180 * 86400 END AS follow_s
FROM settled
"""
_INDEX_ORDERS = ("CREATE UNIQUE INDEX ON _o (k)", "CREATE UNIQUE INDEX ON _o (id)", "ANALYZE _o")


def _prepare_steps() -> list[_Step]:
    return [
        _Step("prepare: brands and catalogs", None, _PREPARE_KNOWN, before=_PREPARE_BRANDS),
        _Step("prepare: users", None, _PREPARE_USERS, after=_INDEX_USERS),
        _Step("prepare: orders", None, _PREPARE_ORDERS, after=_INDEX_ORDERS),
    ]


# --------------------------------------------------------------------------------------------
# platform, identity


def _platform_identity_steps(scale: Scale) -> list[_Step]:
    sessions_per_user = 3.6
    return [
        _one(
            "platform.brands",
            """
            INSERT INTO platform.brands (id, brand_id, name, status, created_at)
            SELECT brand, brand, name, status::platform.brand_status,
                   timestamptz '2023-01-09 00:00:00+00' + (b - 1) * interval '97 days'
            FROM _b ORDER BY b
            """,
        ),
        _one(
            "platform.settings",
            """
            INSERT INTO platform.settings (id, brand_id, key, value, updated_at)
            SELECT pg_temp.gid('setting', _b.b * 100 + s.n), _b.brand, s.key,
                   CASE s.key
                     WHEN 'checkout.currency' THEN to_jsonb(_b.currency)
                     WHEN 'cash.earn_rate_bps' THEN to_jsonb(_b.cash_bps)
                     WHEN 'support.email' THEN to_jsonb('support@' || _b.brand || '.example.com')
                     WHEN 'comms.sender' THEN jsonb_build_object('name', _b.name, 'email', 'hello@' || _b.brand || '.example.com')
                     WHEN 'features' THEN jsonb_build_object('community', _b.brand <> 'helix', 'ai_coach', _b.b <= 3,
                                                             'booking', _b.brand IN ('capri', 'helix', 'arbor'))
                     ELSE jsonb_build_object('default', 'en-US', 'supported',
                                             CASE _b.brand WHEN 'arbor' THEN '["en-CA", "fr-CA"]'::jsonb
                                                           WHEN 'helix' THEN '["en-GB"]'::jsonb ELSE '["en-US", "es-US"]'::jsonb END)
                   END,
                   pg_temp.tsu('setting.updated', _b.b * 100 + s.n, %(t0)s, %(t_end)s)
            FROM _b CROSS JOIN unnest(ARRAY['checkout.currency', 'cash.earn_rate_bps', 'support.email',
                                            'comms.sender', 'features', 'locale']) WITH ORDINALITY AS s(key, n)
            """,
        ),
        *_chunked(
            "identity.users",
            """
            INSERT INTO identity.users (id, brand_id, email, phone, display_name, status, mfa_enabled,
                                        created_at, last_login_at)
            SELECT id, brand, email, phone, display_name, status::identity.user_status, mfa,
                   to_timestamp(created_s), to_timestamp(last_login_s)
            FROM _u WHERE i BETWEEN %(lo)s AND %(hi)s
            """,
            first=1,
            last=scale.users,
            rows_per_key=1,
            scale=scale,
        ),
        _one(
            "identity.oauth_clients",
            """
            INSERT INTO identity.oauth_clients (id, brand_id, client_id, name, redirect_uris, scopes)
            SELECT pg_temp.gid('oauth_client', _b.b * 10 + c.n), _b.brand, _b.brand || '-' || c.slug,
                   _b.name || ' ' || c.label,
                   ARRAY['https://' || c.host || _b.brand || '.example.com/oauth/callback'], c.scopes
            FROM _b CROSS JOIN (VALUES
                (1, 'web', 'Web', 'app.', ARRAY['openid', 'profile', 'orders']),
                (2, 'ios', 'iOS', 'ios.', ARRAY['openid', 'profile', 'orders', 'wearables']),
                (3, 'partner', 'Partner portal', 'partners.', ARRAY['openid', 'affiliates'])
            ) AS c(n, slug, label, host, scopes)
            """,
        ),
        *_chunked(
            "identity.grants",
            """
            INSERT INTO identity.grants (id, brand_id, user_id, oauth_client_id, scopes, granted_at, revoked_at)
            SELECT pg_temp.gid('grant', g.key), u.brand, u.id, pg_temp.gid('oauth_client', u.b * 10 + g.client),
                   CASE g.client WHEN 3 THEN ARRAY['openid', 'affiliates'] ELSE ARRAY['openid', 'profile', 'orders'] END,
                   g.granted_at,
                   CASE WHEN pg_temp.pick('grant.revoked', g.key, 100) < 10
                        THEN pg_temp.after('grant.revoked_at', g.key, g.granted_at, 90 * 86400) END
            FROM _u AS u
            CROSS JOIN LATERAL generate_series(1, CASE WHEN pg_temp.pick('grant.n', u.i, 100) < 30 THEN 0
                                                       WHEN pg_temp.pick('grant.n', u.i, 100) < 85 THEN 1 ELSE 2 END) AS j
            CROSS JOIN LATERAL (
              SELECT u.i * 4 + j AS key, 1 + pg_temp.pick('grant.client', u.i * 4 + j, 3) AS client,
                     pg_temp.tsu('grant.at', u.i * 4 + j, u.created_s, %(t_end)s) AS granted_at
            ) AS g
            WHERE u.i BETWEEN %(lo)s AND %(hi)s
            """,
            first=1,
            last=scale.users,
            rows_per_key=0.85,
            scale=scale,
        ),
        _one(
            "identity.tokens",
            """
            INSERT INTO identity.tokens (id, brand_id, grant_id, kind, token_hash, expires_at, revoked_at)
            SELECT pg_temp.gid('token', g.id::text || ':' || t.kind), g.brand_id, g.id, t.kind::identity.token_kind,
                   encode(sha256(decode(pg_temp.hex('token.secret', g.id::text || ':' || t.kind), 'hex')), 'hex'),
                   to_timestamp(pg_temp.epoch(g.granted_at) + t.ttl), g.revoked_at
            FROM identity.grants AS g
            CROSS JOIN (VALUES ('access', 3600), ('refresh', 30 * 86400)) AS t(kind, ttl)
            """,
        ),
        *_chunked(
            "identity.sessions",
            """
            INSERT INTO identity.sessions (id, brand_id, user_id, ip, user_agent, created_at, expires_at, revoked_at)
            SELECT pg_temp.gid('session', s.key), u.brand, u.id,
                   CASE WHEN pg_temp.pick('session.v6', s.key, 10) = 0
                        THEN '2001:db8::'::inet + pg_temp.pick('session.ip', s.key, 1000000)
                        ELSE '198.18.0.0'::inet + pg_temp.pick('session.ip', s.key, 131072) END,
                   pg_temp.elem(%(user_agents)s::text[], 'session.agent', s.key),
                   to_timestamp(s.created_s), to_timestamp(s.created_s + 30 * 86400),
                   CASE WHEN pg_temp.pick('session.revoked', s.key, 100) < 20
                        THEN pg_temp.after('session.revoked_at', s.key, to_timestamp(s.created_s), 20 * 86400) END
            FROM _u AS u
            CROSS JOIN LATERAL generate_series(1, u.n_sessions) AS j
            -- The last session is the user's last login.
            CROSS JOIN LATERAL (
              SELECT u.i * 256 + j AS key,
                     u.created_s + ((u.last_login_s - u.created_s) * j) / u.n_sessions AS created_s
            ) AS s
            WHERE u.i BETWEEN %(lo)s AND %(hi)s
            """,
            first=1,
            last=scale.users,
            rows_per_key=sessions_per_user,
            scale=scale,
        ),
        _one(
            "identity.role_assignments",
            """
            INSERT INTO identity.role_assignments (id, brand_id, user_id, role, scope, assigned_by)
            SELECT pg_temp.gid('role_assignment', u.i), u.brand, u.id,
                   pg_temp.elem(ARRAY['support_agent', 'support_agent', 'clinician', 'finance', 'admin'], 'role', u.i),
                   'brand:' || u.brand, 'staff:' || (1 + pg_temp.pick('role.by', u.i, 3))
            FROM _u AS u
            WHERE pg_temp.pick('role.staff', u.i, 1000) < 15 AND NOT u.known
            """,
        ),
    ]


# --------------------------------------------------------------------------------------------
# commerce, payments, accounting, cash: one order per checkout, one charge per order


def _order_steps(scale: Scale) -> list[_Step]:
    per_order: dict[str, Any] = {"first": 1, "last": scale.orders, "scale": scale}
    return [
        *_chunked(
            "commerce.orders",
            """
            INSERT INTO commerce.orders (id, brand_id, user_id, number, status, total_cents, currency,
                                         shipping_address, placed_at)
            SELECT o.id, o.brand, o.user_id, o.number, o.order_status::commerce.order_status, o.total, o.currency,
                   jsonb_build_object(
                     'name', u.display_name,
                     'line1', (1 + pg_temp.pick('address.number', o.uidx, 900)) || ' '
                              || pg_temp.elem(%(streets)s::text[], 'address.street', o.uidx),
                     'city', pg_temp.elem(%(cities)s::text[], 'address.city', o.uidx),
                     'postal_code', lpad(pg_temp.pick('address.postal', o.uidx, 100000)::text, 5, '0'),
                     'country', CASE o.currency WHEN 'GBP' THEN 'GB' WHEN 'CAD' THEN 'CA' ELSE 'US' END),
                   to_timestamp(o.placed_s)
            FROM _o AS o JOIN _u AS u ON u.i = o.uidx
            WHERE o.k BETWEEN %(lo)s AND %(hi)s
            """,
            rows_per_key=1,
            **per_order,
        ),
        *_chunked(
            "commerce.order_items",
            """
            INSERT INTO commerce.order_items (id, brand_id, order_id, sku, quantity, unit_price_cents)
            SELECT pg_temp.gid('order_item', o.k * 4 + j), o.brand, o.id, upper(o.brand) || '-' || p.code,
                   pg_temp.item_qty(o.k, j), p.price_cents
            FROM _o AS o
            CROSS JOIN LATERAL generate_series(1, o.n_items) AS j
            JOIN _p AS p ON p.n = pg_temp.item_product(o.k, j)
            WHERE o.k BETWEEN %(lo)s AND %(hi)s
            """,
            rows_per_key=2,
            **per_order,
        ),
        _one(
            "commerce.carts",
            """
            INSERT INTO commerce.carts (id, brand_id, user_id, status, updated_at)
            SELECT pg_temp.gid('cart', u.i), u.brand, u.id::text,
                   pg_temp.elem(ARRAY['open', 'open', 'abandoned', 'abandoned', 'converted'], 'cart.status', u.i),
                   pg_temp.tsu('cart.updated', u.i, u.created_s, %(t_end)s)
            FROM _u AS u WHERE pg_temp.pick('cart', u.i, 100) < 60 OR u.known
            """,
        ),
        _one(
            "commerce.cart_items",
            """
            INSERT INTO commerce.cart_items (id, brand_id, cart_id, sku, quantity, unit_price_cents)
            SELECT pg_temp.gid('cart_item', c.id::text || ':' || j), c.brand_id, c.id, upper(c.brand_id) || '-' || p.code,
                   1 + pg_temp.pick('cart_item.qty', c.id::text || ':' || j, 2), p.price_cents
            FROM commerce.carts AS c
            CROSS JOIN LATERAL generate_series(1, 1 + pg_temp.pick('cart.items', c.id::text, 3)) AS j
            JOIN _p AS p ON p.n = pg_temp.pick('cart_item.product', c.id::text || ':' || j, %(n_products)s)
            """,
        ),
        _one(
            "payments.subscriptions",
            """
            INSERT INTO payments.subscriptions (id, brand_id, user_id, plan, status, current_period_end, processor_ref)
            SELECT pg_temp.gid('payments.subscription', u.i), u.brand, u.id::text, s.plan, s.status,
                   CASE WHEN s.status = 'canceled'
                        THEN pg_temp.tsu('subscription.end', u.i, u.created_s + 30 * 86400, %(t_end)s)
                        ELSE to_timestamp(%(t1)s + pg_temp.pick('subscription.renews', u.i, 30 * 86400)) END,
                   'sub_' || substr(pg_temp.hex('subscription.ref', u.i), 1, 24)
            FROM _u AS u
            CROSS JOIN LATERAL (
              SELECT pg_temp.elem(ARRAY['monthly_essentials', 'quarterly_plus', 'annual_elite'], 'subscription.plan', u.i) AS plan,
                     CASE WHEN u.known OR pg_temp.pick('subscription.status', u.i, 100) < 70 THEN 'active'
                          WHEN pg_temp.pick('subscription.status', u.i, 100) < 80 THEN 'past_due'
                          ELSE 'canceled' END AS status
            ) AS s
            WHERE pg_temp.pick('subscription', u.i, 100) < 20 OR u.known
            """,
        ),
        _one(
            "commerce.subscriptions",
            """
            INSERT INTO commerce.subscriptions (id, brand_id, user_id, plan_sku, status, started_at, cancelled_at,
                                                next_renewal_at, payments_subscription_id)
            SELECT pg_temp.gid('subscription', u.i), s.brand_id, s.user_id, upper(s.brand_id) || '-' || upper(s.plan),
                   CASE s.status WHEN 'canceled' THEN 'cancelled' ELSE s.status END,
                   pg_temp.after('subscription.start', u.i, to_timestamp(u.created_s), 14 * 86400),
                   CASE WHEN s.status = 'canceled' THEN s.current_period_end END,
                   CASE WHEN s.status <> 'canceled' THEN s.current_period_end END,
                   s.id::text
            FROM payments.subscriptions AS s JOIN _u AS u ON u.id = s.user_id::uuid
            """,
        ),
        *_chunked(
            "payments.charges",
            """
            INSERT INTO payments.charges (id, brand_id, user_id, order_id, amount_cents, currency, status, processor,
                                          processor_ref, created_at)
            SELECT pg_temp.gid('charge', o.k), o.brand, o.user_id, o.id::text, o.total, o.currency,
                   o.charge_status::payments.charge_status, o.processor,
                   CASE WHEN o.charge_status = 'pending' THEN NULL
                        WHEN o.processor = 'stripe' THEN 'ch_' || substr(pg_temp.hex('charge.ref', o.k), 1, 24)
                        ELSE upper(substr(pg_temp.hex('charge.ref', o.k), 1, 16)) END,
                   to_timestamp(o.placed_s + 2)
            FROM _o AS o WHERE o.k BETWEEN %(lo)s AND %(hi)s
            """,
            rows_per_key=1,
            **per_order,
        ),
        _one(
            "payments.refunds",
            """
            INSERT INTO payments.refunds (id, brand_id, charge_id, amount_cents, reason, status, requested_by, created_at)
            SELECT pg_temp.gid('refund', o.k), o.brand, pg_temp.gid('charge', o.k), o.refund_amount,
                   pg_temp.elem(ARRAY['requested_by_customer', 'damaged_in_transit', 'duplicate', 'not_as_described'],
                                'refund.reason', o.k),
                   'succeeded', coalesce(o.refund_by, o.user_id), to_timestamp(o.refund_s)
            FROM _o AS o WHERE o.refund_amount IS NOT NULL
            """,
        ),
        _one(
            "payments.disputes",
            """
            INSERT INTO payments.disputes (id, brand_id, charge_id, reason, status, amount_cents, evidence, opened_at,
                                           closed_at)
            SELECT pg_temp.gid('dispute', o.k), o.brand, pg_temp.gid('charge', o.k),
                   pg_temp.elem(ARRAY['fraudulent', 'product_not_received', 'duplicate', 'subscription_canceled'],
                                'dispute.reason', o.k),
                   d.status, o.total,
                   jsonb_build_object('tracking_number', '1Z' || upper(substr(pg_temp.hex('dispute.tracking', o.k), 1, 16)),
                                      'customer_communication', d.status <> 'needs_response',
                                      'order_number', o.number),
                   d.opened_at,
                   CASE WHEN d.status IN ('won', 'lost') THEN pg_temp.after('dispute.closed', o.k, d.opened_at, 45 * 86400) END
            FROM _o AS o
            CROSS JOIN LATERAL (
              SELECT pg_temp.elem(ARRAY['needs_response', 'under_review', 'won', 'won', 'lost'], 'dispute.status', o.k) AS status,
                     pg_temp.after('dispute.opened', o.k, to_timestamp(o.placed_s), 60 * 86400) AS opened_at
            ) AS d
            WHERE o.charge_status = 'succeeded' AND pg_temp.pick('dispute', o.k, 1000) < 6
            """,
        ),
        _one(
            "accounting.accounts",
            """
            INSERT INTO accounting.accounts (id, brand_id, owner_type, owner_id, currency, kind)
            SELECT pg_temp.gid('account.user', u.i), u.brand, 'user', u.id::text, _b.currency, 'customer'
            FROM _u AS u JOIN _b ON _b.b = u.b
            UNION ALL
            SELECT pg_temp.gid('account.brand', _b.b), _b.brand, 'brand', _b.brand, _b.currency, 'clearing' FROM _b
            """,
        ),
        # Double entry: a charge credits the customer and debits the brand's clearing account;
        # a refund reverses it (entries k*4+0..1 for the charge, k*4+2..3 for the refund).
        *_chunked(
            "accounting.transactions",
            """
            INSERT INTO accounting.transactions (id, brand_id, account_id, amount_cents, entry_type, reference_type,
                                                 reference_id, occurred_at, request_id)
            SELECT pg_temp.gid('txn', o.k * 4 + e.n), o.brand,
                   CASE WHEN e.customer THEN pg_temp.gid('account.user', o.uidx) ELSE pg_temp.gid('account.brand', o.b) END,
                   CASE WHEN e.refund THEN o.refund_amount ELSE o.total END,
                   e.side::accounting.entry_type,
                   CASE WHEN e.refund THEN 'refund' ELSE 'charge' END,
                   CASE WHEN e.refund THEN pg_temp.gid('refund', o.k) ELSE pg_temp.gid('charge', o.k) END::text,
                   CASE WHEN e.refund THEN to_timestamp(o.refund_s + 1) ELSE to_timestamp(o.placed_s + 3) END,
                   CASE WHEN e.refund THEN o.refund_req ELSE o.req END
            FROM _o AS o
            CROSS JOIN (VALUES (0, 'credit', true, false), (1, 'debit', false, false),
                               (2, 'debit', true, true), (3, 'credit', false, true)) AS e(n, side, customer, refund)
            WHERE o.paid AND (NOT e.refund OR o.refund_amount IS NOT NULL) AND o.k BETWEEN %(lo)s AND %(hi)s
            """,
            rows_per_key=2,
            **per_order,
        ),
        _one(
            "accounting.balances",
            """
            INSERT INTO accounting.balances (account_id, brand_id, balance_cents, as_of)
            SELECT a.id, a.brand_id,
                   coalesce(sum(CASE t.entry_type WHEN 'credit' THEN t.amount_cents ELSE -t.amount_cents END), 0),
                   to_timestamp(%(t1)s)
            FROM accounting.accounts AS a LEFT JOIN accounting.transactions AS t ON t.account_id = a.id
            GROUP BY a.id, a.brand_id
            """,
        ),
        _one(
            "cash.wallets",
            """
            INSERT INTO cash.wallets (id, brand_id, user_id, balance_cents, updated_at)
            SELECT pg_temp.gid('wallet', u.i), u.brand, u.id::text, 0, to_timestamp(u.created_s) FROM _u AS u
            """,
        ),
        *_chunked(
            "cash.ledger_entries",
            """
            INSERT INTO cash.ledger_entries (id, brand_id, wallet_id, amount_cents, kind, reference_type, reference_id,
                                             occurred_at)
            SELECT pg_temp.gid('cash.' || e.entry, o.k), o.brand, pg_temp.gid('wallet', o.uidx),
                   CASE e.entry WHEN 'earn' THEN o.earn ELSE -o.earn END,
                   CASE e.entry WHEN 'earn' THEN 'earn' ELSE o.cash_follow END::cash.cash_entry_kind,
                   CASE WHEN e.entry = 'earn' THEN 'order' WHEN o.cash_follow = 'adjust' THEN 'refund'
                        WHEN o.cash_follow = 'redeem' THEN 'redemption' ELSE 'expiry' END,
                   CASE WHEN e.entry = 'earn' THEN o.id::text
                        WHEN o.cash_follow = 'adjust' THEN pg_temp.gid('refund', o.k)::text
                        ELSE left(o.cash_follow, 3) || '_' || substr(pg_temp.hex('cash.follow_ref', o.k), 1, 20) END,
                   to_timestamp(CASE e.entry WHEN 'earn' THEN o.placed_s + 4 ELSE o.follow_s END)
            FROM _o AS o CROSS JOIN (VALUES ('earn'), ('follow')) AS e(entry)
            WHERE o.paid AND (e.entry = 'earn' OR o.cash_follow IS NOT NULL) AND o.k BETWEEN %(lo)s AND %(hi)s
            """,
            rows_per_key=1.3,
            **per_order,
        ),
        _one(
            "cash.ledger_entries",
            label="cash.ledger_entries (goodwill)",
            statement="""
            INSERT INTO cash.ledger_entries (id, brand_id, wallet_id, amount_cents, kind, reference_type, reference_id,
                                             occurred_at)
            SELECT pg_temp.gid('cash.goodwill', u.i), u.brand, pg_temp.gid('wallet', u.i),
                   500 * (1 + pg_temp.pick('cash.goodwill_amount', u.i, 5)), 'adjust', 'support_ticket',
                   'tkt_' || (100000 + u.i), pg_temp.tsu('cash.goodwill_at', u.i, u.created_s, %(t_end)s)
            FROM _u AS u WHERE pg_temp.pick('cash.goodwill', u.i, 100) < 3
            """,
        ),
        _Step(
            "cash.wallets balances",
            None,
            """
            UPDATE cash.wallets AS w SET balance_cents = s.balance, updated_at = greatest(w.updated_at, s.last_at)
            FROM (SELECT wallet_id, sum(amount_cents) AS balance, max(occurred_at) AS last_at
                  FROM cash.ledger_entries GROUP BY wallet_id) AS s
            WHERE s.wallet_id = w.id
            """,
        ),
    ]


# --------------------------------------------------------------------------------------------
# comms, community, follows


def _social_steps(scale: Scale) -> list[_Step]:
    other_messages = round(scale.users * scale.messages_per_user)
    return [
        *_chunked(
            "comms.messages",
            """
            INSERT INTO comms.messages (id, brand_id, user_id, channel, template, status, provider_ref, sent_at)
            SELECT pg_temp.gid('message.order', o.k), o.brand, o.user_id, 'email', o.template,
                   CASE WHEN pg_temp.pick('message.order.status', o.k, 100) < 3 THEN 'bounced' ELSE 'delivered' END,
                   'sg_' || substr(pg_temp.hex('message.order.ref', o.k), 1, 22), to_timestamp(o.placed_s + 5)
            FROM _o AS o WHERE o.k BETWEEN %(lo)s AND %(hi)s
            """,
            first=1,
            last=scale.orders,
            rows_per_key=1,
            scale=scale,
            label="comms.messages (checkout)",
        ),
        *_chunked(
            "comms.messages",
            """
            INSERT INTO comms.messages (id, brand_id, user_id, channel, template, status, provider_ref, sent_at)
            SELECT pg_temp.gid('message', m), u.brand, u.id::text, c.channel::comms.message_channel,
                   CASE c.channel
                     WHEN 'email' THEN pg_temp.elem(ARRAY['welcome', 'weekly_digest', 'lab_results_ready',
                                                          'subscription_renewal', 'password_reset'], 'message.template', m)
                     WHEN 'sms' THEN pg_temp.elem(ARRAY['visit_reminder', 'verification_code', 'shipping_update'],
                                                  'message.template', m)
                     ELSE pg_temp.elem(ARRAY['new_follower', 'post_liked', 'check_in_due', 'streak_milestone'],
                                       'message.template', m) END,
                   c.status,
                   CASE WHEN c.status <> 'queued'
                        THEN CASE c.channel WHEN 'email' THEN 'sg_' WHEN 'sms' THEN 'SM' ELSE 'fcm_' END
                             || substr(pg_temp.hex('message.ref', m), 1, 22) END,
                   CASE WHEN c.status <> 'queued'
                        THEN pg_temp.tsu('message.sent', m, u.created_s, %(t_end)s) END
            FROM generate_series(%(lo)s, %(hi)s) AS m
            JOIN _u AS u ON u.i = CASE WHEN pg_temp.pick('message.heavy', m, 100) < 2 THEN 1
                                       ELSE 1 + pg_temp.pick('message.user', m, %(users)s) END
            CROSS JOIN LATERAL (
              SELECT pg_temp.elem(ARRAY['email', 'email', 'email', 'email', 'email', 'sms', 'sms', 'push', 'push',
                                        'push'], 'message.channel', m) AS channel,
                     pg_temp.elem(ARRAY['delivered', 'delivered', 'delivered', 'delivered', 'delivered', 'sent',
                                        'sent', 'failed', 'queued'], 'message.status', m) AS status
              OFFSET 0  -- computed once per message, not at each reference
            ) AS c
            """,
            first=1,
            last=other_messages,
            rows_per_key=1,
            scale=scale,
            label="comms.messages (other)",
        ),
        _one(
            "comms.inbox_items",
            """
            INSERT INTO comms.inbox_items (id, brand_id, message_id, user_id, read_at, archived_at)
            SELECT pg_temp.gid('inbox_item', m.id::text), m.brand_id, m.id, m.user_id, r.read_at,
                   CASE WHEN r.read_at IS NOT NULL AND pg_temp.pick('inbox.archived', m.id::text, 100) < 30
                        THEN pg_temp.after('inbox.archived_at', m.id::text, r.read_at, 7 * 86400) END
            FROM comms.messages AS m
            CROSS JOIN LATERAL (
              SELECT CASE WHEN pg_temp.pick('inbox.read', m.id::text, 100) < 60
                          THEN pg_temp.after('inbox.read_at', m.id::text, m.sent_at, 3 * 86400) END AS read_at
            ) AS r
            WHERE m.channel = 'push' AND m.sent_at IS NOT NULL
            """,
        ),
        _one(
            "comms.preferences",
            """
            INSERT INTO comms.preferences (id, brand_id, user_id, channel, topic, opted_in)
            SELECT pg_temp.gid('preference', u.i * 4 + t.n), u.brand, u.id::text, t.channel::comms.message_channel,
                   t.topic, pg_temp.pick('preference.opt', u.i * 4 + t.n, 100) < 75
            FROM _u AS u
            CROSS JOIN (VALUES (0, 'email', 'marketing'), (1, 'sms', 'reminders'), (2, 'push', 'community'),
                               (3, 'email', 'product_updates')) AS t(n, channel, topic)
            WHERE t.n < 2 + pg_temp.pick('preference.n', u.i, 3)
            """,
        ),
        # Suppressed addresses are real users' (some in another letter case: the unique index is
        # on lower(address)).
        _one(
            "comms.suppressions",
            """
            INSERT INTO comms.suppressions (id, brand_id, address, channel, reason, created_by, created_at)
            SELECT pg_temp.gid('suppression', u.i * 2 + s.n), u.brand, s.address, s.channel::comms.message_channel,
                   pg_temp.elem(s.reasons, 'suppression.reason', u.i),
                   CASE WHEN pg_temp.pick('suppression.by', u.i, 100) < 80 THEN 'system'
                        ELSE 'staff:' || (1 + pg_temp.pick('suppression.staff', u.i, %(staff)s)) END,
                   pg_temp.tsu('suppression.at', u.i * 2 + s.n, u.created_s, %(t_end)s)
            FROM _u AS u
            CROSS JOIN LATERAL (VALUES
              (0, 'email', CASE WHEN pg_temp.pick('suppression.case', u.i, 100) < 30 THEN upper(u.email) ELSE u.email END,
               ARRAY['hard_bounce', 'spam_complaint', 'unsubscribed_all'],
               pg_temp.pick('suppression.email', u.i, 100) < 3),
              (1, 'sms', u.phone, ARRAY['stop_keyword', 'carrier_blocked'],
               u.phone IS NOT NULL AND pg_temp.pick('suppression.sms', u.i, 100) < 1)
            ) AS s(n, channel, address, reasons, wanted)
            WHERE s.wanted AND NOT u.known
            """,
        ),
        *_chunked(
            "community.posts",
            """
            INSERT INTO community.posts (id, brand_id, author_user_id, body, status, created_at)
            SELECT pg_temp.gid('post', p), u.brand, u.id::text,
                   pg_temp.elem(%(phrases)s::text[], 'post.body', p),
                   pg_temp.elem(ARRAY['visible', 'visible', 'visible', 'visible', 'visible', 'visible', 'visible',
                                      'visible', 'hidden', 'removed'], 'post.status', p)::community.post_status,
                   pg_temp.tsu('post.at', p, u.created_s, %(t_end)s)
            FROM generate_series(%(lo)s, %(hi)s) AS p
            JOIN _u AS u ON u.i = 1 + pg_temp.pick('post.author', p, %(users)s)
            """,
            first=1,
            last=round(scale.users * 0.8),
            rows_per_key=1,
            scale=scale,
        ),
        _one(
            "community.comments",
            """
            INSERT INTO community.comments (id, brand_id, post_id, author_user_id, body, status)
            SELECT pg_temp.gid('comment', c.key), p.brand_id, p.id, v.id::text,
                   pg_temp.elem(%(phrases)s::text[], 'comment.body', c.key),
                   CASE WHEN pg_temp.pick('comment.status', c.key, 100) < 95 THEN 'visible' ELSE 'hidden' END::community.post_status
            FROM community.posts AS p
            JOIN _u AS a ON a.id = p.author_user_id::uuid
            CROSS JOIN LATERAL generate_series(1, pg_temp.pick('post.comments', p.id::text, 4)) AS j
            CROSS JOIN LATERAL (SELECT p.id::text || ':' || j AS key) AS c
            JOIN _u AS v ON v.brand = a.brand AND v.brank = pg_temp.pick('comment.author', c.key, a.brand_n)
            """,
        ),
        # The l-th liker is the author's rank + 1 + (offset + l) mod (n - 1), all mod n: distinct
        # users of the post's brand, never the author, so the (post_id, user_id) key cannot clash.
        _one(
            "community.likes",
            """
            INSERT INTO community.likes (post_id, user_id, brand_id, created_at)
            SELECT p.id, v.id::text, p.brand_id, pg_temp.after('like.at', p.id::text || ':' || l, p.created_at, 30 * 86400)
            FROM community.posts AS p
            JOIN _u AS a ON a.id = p.author_user_id::uuid
            CROSS JOIN LATERAL generate_series(0, least(pg_temp.pick('post.likes', p.id::text, 8), a.brand_n - 1) - 1) AS l
            JOIN _u AS v ON v.brand = a.brand
                        AND v.brank = mod(a.brank + 1 + mod(pg_temp.pick('post.like_offset', p.id::text, a.brand_n - 1) + l,
                                                            a.brand_n - 1), a.brand_n)
            """,
        ),
        # Same construction as likes: distinct followees of the follower's brand, never oneself.
        *_chunked(
            "follows.follows",
            """
            INSERT INTO follows.follows (follower_id, followee_id, brand_id, created_at)
            SELECT u.id::text, v.id::text, u.brand,
                   pg_temp.tsu('follow.at', u.i * 64 + l, greatest(u.created_s, v.created_s), %(t_end)s)
            FROM _u AS u
            CROSS JOIN LATERAL generate_series(0, least(pg_temp.pick('follows.n', u.i, 11), u.brand_n - 1) - 1) AS l
            JOIN _u AS v ON v.brand = u.brand
                        AND v.brank = mod(u.brank + 1 + mod(pg_temp.pick('follows.offset', u.i, u.brand_n - 1) + l,
                                                            u.brand_n - 1), u.brand_n)
            WHERE u.i BETWEEN %(lo)s AND %(hi)s
            """,
            first=1,
            last=scale.users,
            rows_per_key=5,
            scale=scale,
        ),
        _one(
            "follows.blocks",
            """
            INSERT INTO follows.blocks (id, brand_id, blocker_id, blocked_id, created_at)
            SELECT pg_temp.gid('block', u.i), u.brand, u.id::text, v.id::text,
                   pg_temp.tsu('block.at', u.i, greatest(u.created_s, v.created_s), %(t_end)s)
            FROM _u AS u
            JOIN _u AS v ON v.brand = u.brand
                        AND v.brank = mod(u.brank + 1 + pg_temp.pick('block.who', u.i, u.brand_n - 1), u.brand_n)
            WHERE u.brand_n > 1 AND pg_temp.pick('block', u.i, 100) < 5
            """,
        ),
    ]


# --------------------------------------------------------------------------------------------
# content, analytics, events, webhooks, jobs


def _setval(table: str) -> sql.Composed:
    # Explicit ids were inserted into SERIAL/BIGSERIAL columns: move the sequence past them.
    return sql.SQL(
        "SELECT setval(pg_get_serial_sequence({name}, 'id'), (SELECT max(id) FROM {table}))"
    ).format(name=sql.Literal(table), table=sql.Identifier(*table.split(".")))


def _platform_services_steps(scale: Scale) -> list[_Step]:
    outbox_rows = scale.orders + scale.users
    return [
        # One Payload CMS for every brand: SERIAL ids interleave the brands.
        _one(
            "content.pages",
            """
            INSERT INTO content.pages (id, brand_id, slug, title, status, layout, published_at)
            SELECT (p.n - 1) * %(n_brands)s + _b.b, _b.brand, p.slug, p.title || ' | ' || _b.name,
                   CASE WHEN p.n = 8 THEN 'draft' ELSE 'published' END,
                   jsonb_build_object('blocks', jsonb_build_array(
                     jsonb_build_object('blockType', 'hero', 'heading', p.title),
                     jsonb_build_object('blockType', 'richText', 'text', 'Everything about ' || lower(p.title) || '.'))),
                   CASE WHEN p.n < 8 THEN pg_temp.tsu('page.published', _b.b * 8 + p.n, %(t0)s, %(t_end)s) END
            FROM _b CROSS JOIN (VALUES (1, 'home', 'Home'), (2, 'about', 'About us'), (3, 'pricing', 'Pricing'),
                                       (4, 'faq', 'FAQ'), (5, 'contact', 'Contact'), (6, 'privacy', 'Privacy policy'),
                                       (7, 'terms', 'Terms of service'), (8, 'careers', 'Careers')) AS p(n, slug, title)
            """,
            after=[_setval("content.pages")],
        ),
        _one(
            "content.articles",
            """
            INSERT INTO content.articles (id, brand_id, slug, title, author, body, published_at)
            SELECT (a - 1) * %(n_brands)s + _b.b, _b.brand, 'article-' || a || '-' || replace(t.topic, ' ', '-'),
                   initcap(t.topic) || ': what the evidence says', 'staff:' || (1 + pg_temp.pick('article.author', _b.b * 100000 + a, %(staff)s)),
                   jsonb_build_object('root', jsonb_build_object('type', 'root', 'children', jsonb_build_array(
                     jsonb_build_object('type', 'heading', 'text', initcap(t.topic)),
                     jsonb_build_object('type', 'paragraph', 'text', pg_temp.elem(%(phrases)s::text[], 'article.body', _b.b * 100000 + a))))),
                   CASE WHEN pg_temp.pick('article.draft', _b.b * 100000 + a, 10) > 0
                        THEN pg_temp.tsu('article.published', _b.b * 100000 + a, %(t0)s, %(t_end)s) END
            FROM _b CROSS JOIN generate_series(1, %(articles)s) AS a
            CROSS JOIN LATERAL (SELECT pg_temp.elem(ARRAY['sleep', 'protein timing', 'zone two cardio', 'apob',
                                                          'creatine', 'fasting', 'magnesium', 'hrv'],
                                                    'article.topic', _b.b * 100000 + a) AS topic) AS t
            """,
            after=[_setval("content.articles")],
        ),
        _one(
            "content.media",
            """
            INSERT INTO content.media (id, brand_id, filename, mime_type, filesize, url, alt)
            SELECT (m - 1) * %(n_brands)s + _b.b, _b.brand, f.name, f.mime,
                   20000 + pg_temp.pick('media.size', _b.b * 100000 + m, 4000000)::int,
                   'https://cdn.' || _b.brand || '.example.com/media/' || f.name,
                   CASE WHEN f.mime <> 'application/pdf' THEN 'Illustration ' || m END
            FROM _b CROSS JOIN generate_series(1, %(articles)s) AS m
            CROSS JOIN LATERAL (
              SELECT pg_temp.elem(ARRAY['image/jpeg', 'image/jpeg', 'image/png', 'image/webp', 'application/pdf'],
                                  'media.mime', _b.b * 100000 + m) AS mime
            ) AS x
            CROSS JOIN LATERAL (SELECT 'asset-' || m || '.' || split_part(x.mime, '/', 2) AS name, x.mime) AS f
            """,
            after=[_setval("content.media")],
        ),
        *_chunked(
            "analytics.events",
            """
            INSERT INTO analytics.events (id, brand_id, user_id, anonymous_id, name, properties, occurred_at)
            SELECT e, u.brand, CASE WHEN NOT x.anonymous THEN u.id::text END,
                   CASE WHEN x.anonymous OR pg_temp.pick('event.device', e, 100) < 40
                        THEN 'anon_' || substr(pg_temp.hex('device', u.i * 4 + pg_temp.pick('event.device_n', e, 4)), 1, 20) END,
                   x.name,
                   jsonb_build_object('path', pg_temp.elem(%(paths)s::text[], 'event.path', e),
                                      'platform', pg_temp.elem(ARRAY['web', 'web', 'ios', 'android'], 'event.platform', e),
                                      'session_id', 'ses_' || substr(pg_temp.hex('event.session', u.i * 64 + pg_temp.pick('event.session', e, 64)), 1, 12)),
                   pg_temp.tsu('event.at', e, u.created_s, %(t1)s)
            FROM generate_series(%(lo)s, %(hi)s) AS e
            JOIN _u AS u ON u.i = CASE WHEN pg_temp.pick('event.heavy', e, 1000) < 10 THEN 1
                                       ELSE 1 + pg_temp.pick('event.user', e, %(users)s) END
            CROSS JOIN LATERAL (SELECT pg_temp.pick('event.anonymous', e, 100) < 15 AS anonymous,
                                       pg_temp.elem(%(event_names)s::text[], 'event.name', e) AS name) AS x
            """,
            first=1,
            last=scale.analytics_events,
            rows_per_key=1,
            scale=scale,
            after=[_setval("analytics.events")],
        ),
        _one(
            "analytics.attributions",
            """
            INSERT INTO analytics.attributions (id, brand_id, user_id, source, medium, campaign, first_touch_at)
            SELECT pg_temp.gid('analytics.attribution', u.i), u.brand, u.id::text, s.source, s.medium,
                   CASE WHEN s.medium <> 'none' THEN s.source || '_' || pg_temp.elem(ARRAY['spring', 'summer', 'fall', 'holiday'], 'attribution.campaign', u.i) END,
                   to_timestamp(greatest(%(t0)s, u.created_s - pg_temp.pick('attribution.lead', u.i, 14 * 86400)))
            FROM _u AS u
            CROSS JOIN LATERAL (
              SELECT x[1] AS source, x[2] AS medium
              FROM (SELECT string_to_array(pg_temp.elem(ARRAY['google:cpc', 'instagram:social', 'tiktok:social',
                                                              'newsletter:email', 'affiliate:referral', 'direct:none',
                                                              'podcast:referral'], 'attribution.source', u.i), ':') AS x) AS y
            ) AS s
            """,
        ),
        _one(
            "analytics.cohorts",
            """
            INSERT INTO analytics.cohorts (id, brand_id, name, definition)
            SELECT pg_temp.gid('cohort', _b.b * 10 + c.n), _b.brand, c.name, c.definition
            FROM _b CROSS JOIN (VALUES
              (1, 'Signed up this quarter', '{"signed_up_within_days": 90}'::jsonb),
              (2, 'Repeat buyers', '{"orders_at_least": 2}'::jsonb),
              (3, 'Lapsed subscribers', '{"subscription_status": "canceled"}'::jsonb),
              (4, 'Wearable connected', '{"has_wearable": true}'::jsonb),
              (5, 'High engagement', '{"events_last_30_days_at_least": 50}'::jsonb)
            ) AS c(n, name, definition)
            """,
        ),
        _one(
            "analytics.outcomes",
            """
            INSERT INTO analytics.outcomes (id, brand_id, user_id, metric, value, measured_at)
            SELECT pg_temp.gid('outcome', u.i * 4 + j), u.brand, u.id::text, m.metric,
                   round((m.lo + (m.hi - m.lo) * pg_temp.u('outcome.value', u.i * 4 + j))::numeric, 2),
                   pg_temp.tsu('outcome.at', u.i * 4 + j, u.created_s, %(t_end)s)
            FROM _u AS u
            CROSS JOIN LATERAL generate_series(1, 1 + pg_temp.pick('outcome.n', u.i, 3)) AS j
            JOIN (VALUES (0, 'weight_kg', 50.0, 120.0), (1, 'resting_hr', 48.0, 85.0), (2, 'sleep_hours', 5.0, 9.0),
                         (3, 'vo2max', 28.0, 60.0)) AS m(n, metric, lo, hi)
              ON m.n = pg_temp.pick('outcome.metric', u.i * 4 + j, 4)
            WHERE pg_temp.pick('outcome', u.i, 100) < 50 OR u.known
            """,
        ),
        _one(
            "webhooks.endpoints",
            """
            INSERT INTO webhooks.endpoints (id, brand_id, url, secret_hash, events, active)
            SELECT pg_temp.gid('endpoint', _b.b * 10 + e.n), _b.brand,
                   'https://' || e.host || '.example.net/hooks/' || _b.brand,
                   encode(sha256(decode(pg_temp.hex('endpoint.secret', _b.b * 10 + e.n), 'hex')), 'hex'),
                   e.events, NOT (e.n = 3 AND _b.status <> 'active')
            FROM _b CROSS JOIN (VALUES
              (1, 'erp', ARRAY['order.placed', 'order.refunded']),
              (2, 'crm', ARRAY['order.placed', 'user.registered']),
              (3, 'fulfilment', ARRAY['order.placed'])
            ) AS e(n, host, events)
            """,
        ),
        *_chunked(
            "webhooks.inbound_deliveries",
            """
            INSERT INTO webhooks.inbound_deliveries (id, brand_id, source, event_type, payload, status, error, received_at)
            SELECT pg_temp.gid('inbound_delivery', d), u.brand, split_part(x.kind, ':', 1), split_part(x.kind, ':', 2),
                   jsonb_build_object('id', 'evt_' || substr(pg_temp.hex('inbound.ref', d), 1, 24),
                                      'type', split_part(x.kind, ':', 2), 'user_id', u.id),
                   x.status,
                   CASE x.status WHEN 'failed' THEN pg_temp.elem(ARRAY['signature mismatch', 'unknown account', 'timeout'],
                                                                 'inbound.error', d) END,
                   pg_temp.tsu('inbound.at', d, u.created_s, %(t1)s)
            FROM generate_series(%(lo)s, %(hi)s) AS d
            JOIN _u AS u ON u.i = 1 + pg_temp.pick('inbound.user', d, %(users)s)
            CROSS JOIN LATERAL (
              SELECT pg_temp.elem(ARRAY['stripe:charge.succeeded', 'stripe:charge.refunded', 'stripe:charge.dispute.created',
                                        'adyen:AUTHORISATION', 'oura:daily_sleep.updated', 'whoop:recovery.updated',
                                        'sendgrid:delivered', 'sendgrid:bounce', 'twilio:message.status'], 'inbound.kind', d) AS kind,
                     pg_temp.elem(ARRAY['processed', 'processed', 'processed', 'processed', 'processed', 'processed',
                                        'processed', 'processed', 'failed', 'ignored'], 'inbound.status', d) AS status
            ) AS x
            """,
            first=1,
            last=max(1, scale.users // 2),
            rows_per_key=1,
            scale=scale,
        ),
        *_chunked(
            "webhooks.outbound_deliveries",
            """
            INSERT INTO webhooks.outbound_deliveries (id, brand_id, endpoint_id, event_type, payload, attempt, status,
                                                      response_code, next_attempt_at, delivered_at)
            SELECT pg_temp.gid('outbound_delivery', o.k), o.brand,
                   pg_temp.gid('endpoint', o.b * 10 + 1 + pg_temp.pick('outbound.endpoint', o.k, 3)), 'order.placed',
                   jsonb_build_object('order_id', o.id, 'number', o.number, 'total_cents', o.total, 'currency', o.currency),
                   x.attempt, x.status::webhooks.delivery_status,
                   CASE x.status WHEN 'delivered' THEN 200 WHEN 'failed' THEN 500 + pg_temp.pick('outbound.code', o.k, 4)::int END,
                   CASE x.status WHEN 'pending' THEN to_timestamp(o.placed_s + 60 * x.attempt * x.attempt) END,
                   CASE x.status WHEN 'delivered' THEN to_timestamp(o.placed_s + 2 + 60 * (x.attempt - 1)) END
            FROM _o AS o
            CROSS JOIN LATERAL (
              SELECT pg_temp.elem(ARRAY['delivered', 'delivered', 'delivered', 'delivered', 'delivered', 'delivered',
                                        'delivered', 'delivered', 'failed', 'pending'], 'outbound.status', o.k) AS status,
                     1 + pg_temp.pick('outbound.attempt', o.k, 3)::int AS attempt
            ) AS x
            WHERE pg_temp.pick('outbound', o.k, 100) < 50 AND o.k BETWEEN %(lo)s AND %(hi)s
            """,
            first=1,
            last=scale.orders,
            rows_per_key=0.5,
            scale=scale,
        ),
        # Outbox ids: 1..orders are the orders' order.placed, then one user.registered per user.
        *_chunked(
            "events.outbox",
            """
            INSERT INTO events.outbox (id, brand_id, aggregate_type, aggregate_id, event_type, payload, created_at,
                                       published_at)
            SELECT o.k, o.brand, 'order', o.id::text, 'order.placed',
                   jsonb_build_object('order_id', o.id, 'user_id', o.user_id, 'total_cents', o.total, 'currency', o.currency),
                   to_timestamp(o.placed_s + 1),
                   CASE WHEN pg_temp.pick('outbox.unpublished', o.k, 1000) >= 3 THEN to_timestamp(o.placed_s + 2) END
            FROM _o AS o WHERE o.k BETWEEN %(lo)s AND %(hi)s
            """,
            first=1,
            last=scale.orders,
            rows_per_key=1,
            scale=scale,
            label="events.outbox (orders)",
        ),
        _one(
            "events.outbox",
            """
            INSERT INTO events.outbox (id, brand_id, aggregate_type, aggregate_id, event_type, payload, created_at,
                                       published_at)
            SELECT %(orders)s + u.i, u.brand, 'user', u.id::text, 'user.registered',
                   jsonb_build_object('user_id', u.id, 'brand', u.brand), to_timestamp(u.created_s),
                   to_timestamp(u.created_s + 1)
            FROM _u AS u
            """,
            label="events.outbox (users)",
            after=[_setval("events.outbox")],
        ),
        *_chunked(
            "events.delivery_audit",
            """
            INSERT INTO events.delivery_audit (id, brand_id, outbox_id, consumer, status, error, attempted_at)
            SELECT pg_temp.gid('delivery', x.id * 4 + j), x.brand_id, x.id,
                   (ARRAY['accounting', 'cash', 'comms', 'analytics', 'affiliates'])[1 + mod(pg_temp.pick('delivery.consumer', x.id, 5) + j, 5)::int],
                   d.status, CASE d.status WHEN 'failed' THEN 'consumer timeout after 30s' END,
                   to_timestamp(pg_temp.epoch(coalesce(x.published_at, x.created_at)) + j)
            FROM events.outbox AS x
            CROSS JOIN LATERAL generate_series(0, pg_temp.pick('delivery.n', x.id, 2)) AS j
            CROSS JOIN LATERAL (
              SELECT CASE WHEN x.published_at IS NULL THEN 'failed'
                          ELSE pg_temp.elem(ARRAY['delivered', 'delivered', 'delivered', 'delivered', 'delivered',
                                                  'delivered', 'delivered', 'delivered', 'delivered', 'retrying'],
                                            'delivery.status', x.id * 4 + j) END AS status
            ) AS d
            WHERE x.id BETWEEN %(lo)s AND %(hi)s
            """,
            first=1,
            last=outbox_rows,
            rows_per_key=1.5,
            scale=scale,
        ),
        _one(
            "jobs.job_runs",
            """
            INSERT INTO jobs.job_runs (id, brand_id, job_name, status, attempt, args, error, started_at, finished_at)
            SELECT pg_temp.gid('job_run', r.key), _b.brand, j.name, r.status, r.attempt,
                   jsonb_build_object('brand', _b.brand, 'date', to_char(to_timestamp(r.start_s) AT TIME ZONE 'UTC', 'YYYY-MM-DD')),
                   CASE r.status WHEN 'failed' THEN pg_temp.elem(ARRAY['deadlock detected', 'upstream 503', 'lock timeout'],
                                                                 'job.error', r.key) END,
                   to_timestamp(r.start_s),
                   CASE WHEN r.status <> 'running' THEN to_timestamp(r.start_s + 5 + pg_temp.pick('job.duration', r.key, 1800)) END
            FROM generate_series(0, (%(t1)s - %(t0)s) / 86400 - 1) AS d
            CROSS JOIN (VALUES (1, 'cash.expire_points', 1), (2, 'affiliates.schedule_payouts', 2), (3, 'analytics.rollup', 3),
                               (4, 'integrations.sync_wearables', 4), (5, 'comms.weekly_digest', 6),
                               (6, 'accounting.reconcile', 5)) AS j(n, name, hour)
            JOIN _b ON _b.status <> 'retired'
            CROSS JOIN LATERAL (
              SELECT (d * 10 + j.n) * 10 + _b.b AS key,
                     %(t0)s + d * 86400 + j.hour * 3600 + _b.b * 60 AS start_s,
                     CASE WHEN d = (%(t1)s - %(t0)s) / 86400 - 1 AND j.n = 4 THEN 'running'
                          WHEN pg_temp.pick('job.status', (d * 10 + j.n) * 10 + _b.b, 100) < 4 THEN 'failed'
                          ELSE 'succeeded' END AS status,
                     1 + (pg_temp.pick('job.attempt', (d * 10 + j.n) * 10 + _b.b, 100) / 90)::int AS attempt
            ) AS r
            """,
        ),
    ]


# --------------------------------------------------------------------------------------------
# affiliates, membership, entitlements

# Affiliates per brand ranked, so an order's attribution picks an affiliate of its own brand.
_PREPARE_AFFILIATES = (
    """
    CREATE TEMP TABLE _a AS
    SELECT brand_id AS brand, id, row_number() OVER (PARTITION BY brand_id ORDER BY id) - 1 AS arank,
           count(*) OVER (PARTITION BY brand_id) AS brand_n
    FROM affiliates.affiliates
    """,
    "CREATE UNIQUE INDEX ON _a (brand, arank)",
    "ANALYZE _a",
)


def _program_steps(scale: Scale) -> list[_Step]:
    return [
        _one(
            "affiliates.affiliates",
            """
            INSERT INTO affiliates.affiliates (id, brand_id, user_id, code, status, tier, joined_at)
            SELECT pg_temp.gid('affiliate', u.i), u.brand, u.id::text, upper(left(u.brand, 3)) || lpad(u.i::text, 7, '0'),
                   pg_temp.elem(ARRAY['active', 'active', 'active', 'active', 'active', 'active', 'active', 'active',
                                      'paused', 'terminated'], 'affiliate.status', u.i),
                   pg_temp.elem(ARRAY['bronze', 'bronze', 'silver', 'gold'], 'affiliate.tier', u.i),
                   pg_temp.after('affiliate.joined', u.i, to_timestamp(u.created_s), 60 * 86400)
            FROM _u AS u WHERE pg_temp.pick('affiliate', u.i, 100) < 4 AND NOT u.known
            """,
        ),
        *_chunked(
            "affiliates.attributions",
            """
            INSERT INTO affiliates.attributions (id, brand_id, affiliate_id, customer_user_id, order_id, channel,
                                                 attributed_at)
            SELECT pg_temp.gid('attribution', o.k), o.brand, a.id, o.user_id, o.id::text,
                   pg_temp.elem(ARRAY['link', 'link', 'coupon', 'podcast', 'social'], 'attribution.channel', o.k),
                   to_timestamp(greatest(%(t0)s, o.placed_s - pg_temp.pick('attribution.lead', o.k, 7 * 86400)))
            FROM _o AS o
            JOIN (SELECT brand, max(brand_n) AS n FROM _a GROUP BY brand) AS c ON c.brand = o.brand
            JOIN _a AS a ON a.brand = o.brand AND a.arank = pg_temp.pick('attribution.affiliate', o.k, c.n)
            WHERE pg_temp.pick('attribution', o.k, 100) < 12 AND o.k BETWEEN %(lo)s AND %(hi)s
            """,
            first=1,
            last=scale.orders,
            rows_per_key=0.12,
            scale=scale,
            before=_PREPARE_AFFILIATES,
        ),
        _one(
            "affiliates.commissions",
            """
            INSERT INTO affiliates.commissions (id, brand_id, affiliate_id, attribution_id, amount_cents, status)
            SELECT pg_temp.gid('commission', o.k), t.brand_id, t.affiliate_id, t.id, o.total / 10,
                   CASE WHEN o.charge_status = 'refunded' THEN 'reversed'
                        WHEN o.charge_status IN ('failed', 'pending') THEN 'void'
                        ELSE pg_temp.elem(ARRAY['pending', 'approved', 'paid', 'paid'], 'commission.status', o.k) END
            FROM affiliates.attributions AS t JOIN _o AS o ON o.id = t.order_id::uuid
            """,
        ),
        _one(
            "affiliates.payouts",
            """
            INSERT INTO affiliates.payouts (id, brand_id, affiliate_id, amount_cents, status, scheduled_for, paid_at)
            SELECT pg_temp.gid('payout', p.key), a.brand_id, a.id, 1000 + pg_temp.pick('payout.amount', p.key, 49000),
                   p.status::affiliates.payout_status, (to_timestamp(p.due_s) AT TIME ZONE 'UTC')::date,
                   CASE p.status WHEN 'paid' THEN to_timestamp(p.due_s + 3600 * (1 + pg_temp.pick('payout.paid_at', p.key, 6))) END
            FROM affiliates.affiliates AS a
            CROSS JOIN LATERAL generate_series(1, 1 + pg_temp.pick('payout.n', a.id::text, 6)) AS j
            CROSS JOIN LATERAL (
              SELECT a.id::text || ':' || j AS key,
                     least(pg_temp.epoch(a.joined_at) + j * 30 * 86400, %(t_end)s) AS due_s,
                     pg_temp.elem(ARRAY['paid', 'paid', 'paid', 'paid', 'paid', 'paid', 'paid', 'pending', 'held', 'failed'],
                                  'payout.status', a.id::text || ':' || j) AS status
            ) AS p
            """,
        ),
        _one(
            "membership.tiers",
            """
            INSERT INTO membership.tiers (id, brand_id, name, rank, benefits)
            SELECT pg_temp.gid('tier', _b.b * 10 + t.rank), _b.brand, t.name, t.rank, t.benefits
            FROM _b CROSS JOIN (VALUES
              (1, 'Essential', '{"discount_pct": 0, "free_shipping": false}'::jsonb),
              (2, 'Plus', '{"discount_pct": 10, "free_shipping": true}'::jsonb),
              (3, 'Elite', '{"discount_pct": 15, "free_shipping": true, "coach_sessions_per_month": 1}'::jsonb)
            ) AS t(rank, name, benefits)
            """,
        ),
        _one(
            "membership.member_status",
            """
            INSERT INTO membership.member_status (id, brand_id, tier_id, user_id, status, since, until)
            SELECT pg_temp.gid('member_status', u.i), u.brand,
                   pg_temp.gid('tier', u.b * 10 + CASE WHEN m.p < 60 THEN 1 WHEN m.p < 90 THEN 2 ELSE 3 END),
                   u.id::text, m.status, m.since,
                   CASE WHEN m.status <> 'active' THEN pg_temp.after('member.until', u.i, m.since, 180 * 86400) END
            FROM _u AS u
            CROSS JOIN LATERAL (
              SELECT CASE WHEN u.heavy THEN 99 ELSE pg_temp.pick('member.tier', u.i, 100) END AS p,
                     CASE WHEN u.known THEN 'active'
                          ELSE pg_temp.elem(ARRAY['active', 'active', 'active', 'active', 'active', 'active', 'lapsed',
                                                  'lapsed', 'cancelled'], 'member.status', u.i) END AS status,
                     pg_temp.after('member.since', u.i, to_timestamp(u.created_s), 30 * 86400) AS since
            ) AS m
            WHERE pg_temp.pick('member', u.i, 100) < 60 OR u.known
            """,
        ),
        _one(
            "membership.commission_locks",
            """
            INSERT INTO membership.commission_locks (id, brand_id, user_id, affiliate_id, locked_until, reason)
            SELECT pg_temp.gid('commission_lock', t.id::text), t.brand_id, t.customer_user_id, t.affiliate_id::text,
                   to_timestamp(pg_temp.epoch(t.attributed_at) + 90 * 86400),
                   pg_temp.elem(ARRAY['first_purchase_attribution', 'coupon_attribution'], 'lock.reason', t.id::text)
            FROM affiliates.attributions AS t WHERE pg_temp.pick('lock', t.id::text, 100) < 30
            """,
        ),
        _one(
            "entitlements.features",
            """
            INSERT INTO entitlements.features (id, brand_id, key, description)
            SELECT pg_temp.gid('feature', _b.b * 100 + f.n), _b.brand, f.key, f.description
            FROM _b CROSS JOIN (VALUES
              (1, 'lab_panels', 'Blood panels included per year'), (2, 'coach_chat', 'Messaging with a health coach'),
              (3, 'ai_assistant', 'AI assistant conversations'), (4, 'community', 'Community posting'),
              (5, 'free_shipping', 'Free shipping on orders'), (6, 'member_pricing', 'Member prices in the shop'),
              (7, 'wearable_sync', 'Wearable data sync'), (8, 'priority_booking', 'Priority visit booking')
            ) AS f(n, key, description)
            """,
        ),
        _one(
            "entitlements.tier_features",
            """
            INSERT INTO entitlements.tier_features (id, brand_id, feature_id, tier_id, limits)
            SELECT pg_temp.gid('tier_feature', t.b * 1000 + f.n * 10 + t.rank), t.brand,
                   pg_temp.gid('feature', t.b * 100 + f.n), pg_temp.gid('tier', t.b * 10 + t.rank)::text,
                   CASE WHEN f.n IN (1, 2, 3) THEN jsonb_build_object('monthly', t.rank * f.n * 5) END
            FROM (SELECT _b.b, _b.brand, r AS rank FROM _b CROSS JOIN generate_series(1, 3) AS r) AS t
            CROSS JOIN generate_series(1, 8) AS f(n)
            WHERE f.n <= 4 + t.rank
            """,
        ),
    ]


# --------------------------------------------------------------------------------------------
# Health: clinical, patient_graph, integrations, booking, ai, capri


def _health_steps(scale: Scale) -> list[_Step]:
    return [
        _one(
            "clinical.biomarkers",
            """
            INSERT INTO clinical.biomarkers (id, brand_id, user_id, code, name, value, unit, measured_at, source)
            SELECT pg_temp.gid('biomarker', b.key), u.brand, u.id::text, m.code, m.name,
                   round((m.lo + (m.hi - m.lo) * pg_temp.u('biomarker.value', b.key))::numeric, 2), m.unit,
                   pg_temp.tsu('biomarker.at', b.key, u.created_s, %(t_end)s),
                   pg_temp.elem(ARRAY['lab_panel', 'lab_panel', 'wearable', 'self_reported'], 'biomarker.source', b.key)
            FROM _u AS u
            CROSS JOIN LATERAL generate_series(1, 2 + pg_temp.pick('biomarker.n', u.i, 8)) AS j
            CROSS JOIN LATERAL (SELECT u.i * 16 + j AS key) AS b
            JOIN _bm AS m ON m.n = pg_temp.pick('biomarker.code', b.key, 8)
            WHERE pg_temp.pick('clinical', u.i, 100) < 50 OR u.known
            """,
        ),
        _one(
            "clinical.protocols",
            """
            INSERT INTO clinical.protocols (id, brand_id, user_id, name, status, details, started_at)
            SELECT pg_temp.gid('protocol', u.i), u.brand, u.id::text, p.name,
                   pg_temp.elem(ARRAY['active', 'active', 'completed', 'paused'], 'protocol.status', u.i),
                   jsonb_build_object('cadence', 'weekly', 'weeks', 4 + pg_temp.pick('protocol.weeks', u.i, 9)),
                   pg_temp.tsu('protocol.at', u.i, u.created_s, %(t_end)s)
            FROM _u AS u
            CROSS JOIN LATERAL (SELECT pg_temp.elem(ARRAY['Lipid optimisation', 'Sleep restoration', 'Glucose control',
                                                          'Thyroid support'], 'protocol.name', u.i) AS name) AS p
            WHERE pg_temp.pick('protocol', u.i, 100) < 20 OR u.known
            """,
        ),
        _one(
            "clinical.recommendations",
            """
            INSERT INTO clinical.recommendations (id, brand_id, protocol_id, user_id, body, status, created_at)
            SELECT pg_temp.gid('recommendation', p.id::text || ':' || j), p.brand_id, p.id, p.user_id,
                   pg_temp.elem(ARRAY['Add 20 minutes of zone 2 cardio three times a week.',
                                      'Take magnesium glycinate 300 mg before bed.',
                                      'Retest ApoB in 12 weeks.', 'Increase daily fibre to 30 g.',
                                      'Keep a consistent wake time, weekends included.'],
                                'recommendation.body', p.id::text || ':' || j),
                   pg_temp.elem(ARRAY['open', 'accepted', 'accepted', 'dismissed'], 'recommendation.status', p.id::text || ':' || j),
                   pg_temp.after('recommendation.at', p.id::text || ':' || j, p.started_at, 30 * 86400)
            FROM clinical.protocols AS p CROSS JOIN LATERAL generate_series(1, 1 + pg_temp.pick('protocol.recs', p.id::text, 3)) AS j
            """,
        ),
        # Critical and high flags are the likeliest to still wait for a clinician.
        _one(
            "clinical.red_flags",
            """
            INSERT INTO clinical.red_flags (id, brand_id, biomarker_id, user_id, severity, note, raised_at,
                                            acknowledged_at, acknowledged_by)
            SELECT pg_temp.gid('red_flag', b.id::text), b.brand_id, b.id, b.user_id, f.severity::clinical.red_flag_severity,
                   b.name || ' out of range: ' || b.value || ' ' || b.unit, f.raised_at,
                   CASE WHEN f.acknowledged THEN pg_temp.after('red_flag.ack_at', b.id::text, f.raised_at, 3 * 86400) END,
                   CASE WHEN f.acknowledged THEN 'staff:' || (1 + pg_temp.pick('red_flag.by', b.id::text, %(staff)s)) END
            FROM clinical.biomarkers AS b
            CROSS JOIN LATERAL (
              SELECT s.severity, to_timestamp(pg_temp.epoch(b.measured_at) + 3600) AS raised_at,
                     pg_temp.pick('red_flag.ack', b.id::text, 100)
                       >= CASE s.severity WHEN 'critical' THEN 50 WHEN 'high' THEN 30 ELSE 10 END AS acknowledged
              FROM (SELECT pg_temp.elem(ARRAY['low', 'low', 'low', 'low', 'medium', 'medium', 'medium', 'high', 'high',
                                              'critical'], 'red_flag.severity', b.id::text) AS severity) AS s
            ) AS f
            WHERE pg_temp.pick('red_flag', b.id::text, 100) < 7
            """,
        ),
        _one(
            "integrations.wearable_connections",
            """
            INSERT INTO integrations.wearable_connections (id, brand_id, user_id, provider, status, connected_at,
                                                           token_expires_at)
            SELECT pg_temp.gid('wearable_connection', u.i), u.brand, u.id::text,
                   pg_temp.elem(ARRAY['oura', 'whoop', 'apple_health', 'apple_health', 'garmin'],
                                'wearable.provider', u.i)::integrations.wearable_provider,
                   pg_temp.elem(ARRAY['connected', 'connected', 'connected', 'connected', 'connected', 'connected',
                                      'connected', 'expired', 'revoked', 'error'], 'wearable.status', u.i),
                   c.connected_at, to_timestamp(pg_temp.epoch(c.connected_at) + 90 * 86400)
            FROM _u AS u
            CROSS JOIN LATERAL (SELECT pg_temp.after('wearable.connected', u.i, to_timestamp(u.created_s), 60 * 86400)
                                       AS connected_at) AS c
            WHERE pg_temp.pick('wearable', u.i, 100) < 30 OR u.heavy
            """,
        ),
        _one(
            "integrations.sync_runs",
            """
            INSERT INTO integrations.sync_runs (id, brand_id, connection_id, status, records, error, started_at,
                                                finished_at)
            SELECT pg_temp.gid('sync_run', r.key), c.brand_id, c.id, r.status,
                   CASE WHEN r.status = 'failed' THEN 0 ELSE 10 + pg_temp.pick('sync.records', r.key, 500)::int END,
                   CASE r.status WHEN 'failed' THEN pg_temp.elem(ARRAY['token expired', 'provider 429', 'provider 500'],
                                                                 'sync.error', r.key) END,
                   r.started_at, pg_temp.after('sync.duration', r.key, r.started_at, 120)
            FROM integrations.wearable_connections AS c
            CROSS JOIN LATERAL generate_series(1, 3 + pg_temp.pick('sync.n', c.id::text, 10)) AS j
            CROSS JOIN LATERAL (
              SELECT c.id::text || ':' || j AS key,
                     pg_temp.after('sync.at', c.id::text || ':' || j, c.connected_at, 300 * 86400) AS started_at,
                     pg_temp.elem(ARRAY['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded',
                                        'succeeded', 'succeeded', 'failed', 'partial'], 'sync.status', c.id::text || ':' || j) AS status
            ) AS r
            """,
        ),
        _one(
            "patient_graph.customer_profiles",
            """
            INSERT INTO patient_graph.customer_profiles (id, brand_id, user_id, date_of_birth, sex, conditions,
                                                         medications, updated_at)
            SELECT pg_temp.gid('customer_profile', u.i), u.brand, u.id::text,
                   date '1950-01-01' + pg_temp.pick('profile.dob', u.i, 19000)::int,
                   pg_temp.elem(ARRAY['female', 'male', 'female', 'male', 'intersex', 'undisclosed'], 'profile.sex', u.i),
                   ARRAY(SELECT DISTINCT pg_temp.elem(%(conditions)s::text[], 'profile.condition', u.i * 4 + j)
                         FROM generate_series(1, pg_temp.pick('profile.conditions', u.i, 4)) AS j ORDER BY 1),
                   (SELECT coalesce(jsonb_agg(jsonb_build_object(
                             'name', pg_temp.elem(%(medications)s::text[], 'profile.medication', u.i * 4 + j),
                             'dose_mg', 5 * (1 + pg_temp.pick('profile.dose', u.i * 4 + j, 20))) ORDER BY j), '[]'::jsonb)
                    FROM generate_series(1, pg_temp.pick('profile.medications', u.i, 3)) AS j),
                   pg_temp.tsu('profile.updated', u.i, u.created_s, %(t_end)s)
            FROM _u AS u WHERE u.profiled
            """,
        ),
        *_chunked(
            "patient_graph.order_history",
            """
            INSERT INTO patient_graph.order_history (id, brand_id, customer_profile_id, order_id, summary, ordered_at)
            SELECT pg_temp.gid('order_history', o.k), o.brand, pg_temp.gid('customer_profile', o.uidx), o.id::text,
                   jsonb_build_object('number', o.number, 'total_cents', o.total, 'currency', o.currency,
                                      'items', o.n_items, 'status', o.order_status),
                   to_timestamp(o.placed_s)
            FROM _o AS o JOIN _u AS u ON u.i = o.uidx
            WHERE u.profiled AND o.paid AND o.k BETWEEN %(lo)s AND %(hi)s
            """,
            first=1,
            last=scale.orders,
            rows_per_key=0.5,
            scale=scale,
        ),
        _one(
            "patient_graph.wearable_syncs",
            """
            INSERT INTO patient_graph.wearable_syncs (id, brand_id, customer_profile_id, device, metric, value, recorded_at)
            SELECT pg_temp.gid('wearable_sync', s.key), c.brand_id, pg_temp.gid('customer_profile', u.i), c.provider::text,
                   m.metric, round((m.lo + (m.hi - m.lo) * pg_temp.u('wearable_sync.value', s.key))::numeric, 1),
                   pg_temp.after('wearable_sync.at', s.key, c.connected_at, 300 * 86400)
            FROM integrations.wearable_connections AS c
            JOIN _u AS u ON u.id = c.user_id::uuid
            CROSS JOIN LATERAL generate_series(1, 4 + pg_temp.pick('wearable_sync.n', c.id::text, 9)) AS j
            CROSS JOIN LATERAL (SELECT c.id::text || ':' || j AS key) AS s
            JOIN (VALUES (0, 'hrv_ms', 20.0, 120.0), (1, 'resting_hr', 45.0, 80.0), (2, 'sleep_minutes', 300.0, 540.0),
                         (3, 'steps', 1500.0, 18000.0), (4, 'readiness', 40.0, 99.0)) AS m(n, metric, lo, hi)
              ON m.n = pg_temp.pick('wearable_sync.metric', s.key, 5)
            WHERE u.profiled
            """,
        ),
        _one(
            "booking.providers",
            """
            INSERT INTO booking.providers (id, brand_id, name, specialty, license_state, active)
            SELECT pg_temp.gid('provider', _b.b * 1000 + n), _b.brand,
                   'Dr. ' || initcap(pg_temp.elem(%(first_names)s::text[], 'provider.first', _b.b * 1000 + n)) || ' '
                   || initcap(pg_temp.elem(%(last_names)s::text[], 'provider.last', _b.b * 1000 + n)),
                   pg_temp.elem(ARRAY['internal_medicine', 'endocrinology', 'cardiology', 'nutrition', 'sleep_medicine'],
                                'provider.specialty', _b.b * 1000 + n),
                   pg_temp.elem(ARRAY['CA', 'NY', 'TX', 'FL', 'WA', 'MA', 'IL', 'CO'], 'provider.state', _b.b * 1000 + n),
                   n < %(providers_per_brand)s OR _b.status = 'active'
            FROM _b CROSS JOIN generate_series(1, %(providers_per_brand)s) AS n
            """,
        ),
        _one(
            "booking.availability",
            """
            INSERT INTO booking.availability (id, brand_id, provider_id, starts_at, ends_at, status)
            SELECT pg_temp.gid('availability', (_b.b * 1000 + n) * 100 + s), _b.brand, pg_temp.gid('provider', _b.b * 1000 + n),
                   to_timestamp(x.start_s), to_timestamp(x.start_s + 1800),
                   pg_temp.elem(ARRAY['open', 'open', 'booked', 'booked', 'booked', 'blocked'], 'slot.status',
                                (_b.b * 1000 + n) * 100 + s)
            FROM _b CROSS JOIN generate_series(1, %(providers_per_brand)s) AS n CROSS JOIN generate_series(1, 60) AS s
            CROSS JOIN LATERAL (
              SELECT 1800 * ((%(t0)s + pg_temp.pick('slot.at', (_b.b * 1000 + n) * 100 + s, %(t1)s - %(t0)s - 3600)) / 1800) AS start_s
            ) AS x
            """,
        ),
        _one(
            "booking.visits",
            """
            INSERT INTO booking.visits (id, brand_id, provider_id, user_id, visit_type, status, scheduled_at, notes)
            SELECT pg_temp.gid('visit', v.key), u.brand,
                   pg_temp.gid('provider', u.b * 1000 + 1 + pg_temp.pick('visit.provider', v.key, %(providers_per_brand)s)),
                   u.id::text, pg_temp.elem(ARRAY['intake', 'follow_up', 'follow_up', 'lab_review'], 'visit.type', v.key),
                   v.status, to_timestamp(1800 * (pg_temp.epoch(v.at) / 1800)),
                   CASE WHEN v.status = 'completed'
                        THEN pg_temp.elem(ARRAY['Discussed lipid panel; start fibre supplement, retest in 12 weeks.',
                                                'Reports poor sleep; reviewed caffeine timing and evening light.',
                                                'A1c trending down; continue current protocol.',
                                                'Mild fatigue; ferritin ordered.'], 'visit.notes', v.key) END
            FROM _u AS u
            CROSS JOIN LATERAL generate_series(1, 1 + pg_temp.pick('visit.n', u.i, 3)) AS j
            CROSS JOIN LATERAL (
              SELECT u.i * 4 + j AS key,
                     pg_temp.elem(ARRAY['completed', 'completed', 'completed', 'completed', 'completed', 'completed',
                                        'scheduled', 'scheduled', 'cancelled', 'no_show'], 'visit.status', u.i * 4 + j) AS status,
                     pg_temp.tsu('visit.at', u.i * 4 + j, u.created_s, %(t_end)s) AS at
            ) AS v
            WHERE pg_temp.pick('visit', u.i, 100) < 25 OR u.known
            """,
        ),
        _one(
            "ai.conversations",
            """
            INSERT INTO ai.conversations (id, brand_id, user_id, title, started_at)
            SELECT pg_temp.gid('conversation', u.i * 4 + j), u.brand, u.id::text,
                   pg_temp.elem(ARRAY['Understanding my lipid panel', 'Better sleep routine', 'Protein goals',
                                      'Travel and supplements', NULL], 'conversation.title', u.i * 4 + j),
                   pg_temp.tsu('conversation.at', u.i * 4 + j, u.created_s, %(t_end)s)
            FROM _u AS u CROSS JOIN LATERAL generate_series(1, 1 + pg_temp.pick('conversation.n', u.i, 3)) AS j
            WHERE pg_temp.pick('conversation', u.i, 100) < 35 OR u.known
            """,
        ),
        _one(
            "ai.conversation_messages",
            """
            INSERT INTO ai.conversation_messages (id, brand_id, conversation_id, role, content, created_at)
            SELECT pg_temp.gid('conversation_message', c.id::text || ':' || j), c.brand_id, c.id,
                   CASE WHEN mod(j, 2) = 1 THEN 'user' ELSE 'assistant' END,
                   CASE WHEN mod(j, 2) = 1
                        THEN pg_temp.elem(ARRAY['My LDL is 162, should I worry?', 'I wake up at 3am most nights.',
                                                'How much protein do I need at 70 kg?', 'Can I take magnesium with my thyroid meds?'],
                                          'conversation.question', c.id::text || ':' || j)
                        ELSE pg_temp.elem(ARRAY['That is above the optimal range; your clinician may suggest retesting with ApoB.',
                                                'Early waking is common; a consistent wake time and less evening light can help.',
                                                'Around 1.6 g per kg a day, about 110 g, spread over meals.',
                                                'Separate them by at least four hours; check with your provider.'],
                                          'conversation.answer', c.id::text || ':' || j) END,
                   to_timestamp(pg_temp.epoch(c.started_at) + 40 * j)
            FROM ai.conversations AS c CROSS JOIN LATERAL generate_series(1, 2 + pg_temp.pick('conversation.len', c.id::text, 5)) AS j
            """,
        ),
        _one(
            "ai.corpus_documents",
            """
            INSERT INTO ai.corpus_documents (id, brand_id, source, title, body, updated_at)
            SELECT pg_temp.gid('corpus_document', _b.b * 100 + n), _b.brand,
                   pg_temp.elem(ARRAY['knowledge_base', 'research_summary', 'faq'], 'corpus.source', _b.b * 100 + n),
                   'Guide ' || n || ': ' || pg_temp.elem(ARRAY['sleep', 'lipids', 'glucose', 'training', 'supplements'],
                                                         'corpus.topic', _b.b * 100 + n),
                   pg_temp.elem(%(phrases)s::text[], 'corpus.body', _b.b * 100 + n),
                   pg_temp.tsu('corpus.at', _b.b * 100 + n, %(t0)s, %(t_end)s)
            FROM _b CROSS JOIN generate_series(1, 12) AS n
            """,
        ),
        _one(
            "ai.embeddings",
            """
            INSERT INTO ai.embeddings (id, brand_id, document_id, chunk, embedding, created_at)
            SELECT pg_temp.gid('embedding', d.id::text || ':' || c), d.brand_id, d.id, c,
                   ARRAY(SELECT round((2 * pg_temp.u('embedding.x', d.id::text || ':' || c || ':' || x) - 1)::numeric, 4)::real
                         FROM generate_series(1, 16) AS x ORDER BY x),
                   d.updated_at
            FROM ai.corpus_documents AS d CROSS JOIN generate_series(0, 2) AS c
            """,
        ),
        _one(
            "capri.program_enrollments",
            """
            INSERT INTO capri.program_enrollments (id, brand_id, user_id, program, status, enrolled_at)
            SELECT pg_temp.gid('enrollment', u.i), u.brand, u.id::text,
                   pg_temp.elem(ARRAY['metabolic_reset', 'sleep_foundations', 'strength_longevity'], 'enrollment.program', u.i),
                   CASE WHEN u.known THEN 'active'
                        ELSE pg_temp.elem(ARRAY['active', 'active', 'active', 'completed', 'paused', 'withdrawn'],
                                          'enrollment.status', u.i) END,
                   pg_temp.after('enrollment.at', u.i, to_timestamp(u.created_s), 30 * 86400)
            FROM _u AS u WHERE u.brand = 'capri' AND (pg_temp.pick('enrollment', u.i, 100) < 40 OR u.known)
            """,
        ),
        _one(
            "capri.check_ins",
            """
            INSERT INTO capri.check_ins (id, brand_id, enrollment_id, answers, submitted_at)
            SELECT pg_temp.gid('check_in', e.id::text || ':' || j), e.brand_id, e.id,
                   jsonb_build_object('energy', 1 + pg_temp.pick('check_in.energy', e.id::text || ':' || j, 10),
                                      'sleep_hours', 5 + pg_temp.pick('check_in.sleep', e.id::text || ':' || j, 5),
                                      'mood', pg_temp.elem(ARRAY['low', 'ok', 'good', 'great'], 'check_in.mood', e.id::text || ':' || j),
                                      'adherence_pct', 10 * pg_temp.pick('check_in.adherence', e.id::text || ':' || j, 11)),
                   to_timestamp(least(pg_temp.epoch(e.enrolled_at) + j * 7 * 86400, %(t1)s - 1))
            FROM capri.program_enrollments AS e CROSS JOIN LATERAL generate_series(1, 2 + pg_temp.pick('check_in.n', e.id::text, 9)) AS j
            """,
        ),
    ]


# --------------------------------------------------------------------------------------------
# Audit logs. Flows that span services come first (checkout, refunds, logins); then every
# schema gets its own service-specific events from one template (_MiscAudit).

_AUDIT_COLUMNS = sql.SQL(
    "(id, occurred_at, actor_type, actor_id, actor_brand_id, event_type, entity_type, entity_id, brand_id, "
    "request_id, details)"
)


def _audit_insert(schema: str, select: str) -> sql.Composed:
    return sql.SQL("INSERT INTO {table} {columns} {select}").format(
        table=sql.Identifier(schema, "audit_log"), columns=_AUDIT_COLUMNS, select=sql.SQL(select)
    )


def _audit_flow_steps(scale: Scale) -> list[_Step]:
    per_order: dict[str, Any] = {"first": 1, "last": scale.orders, "scale": scale}
    checkout = {
        "commerce": """
            SELECT pg_temp.gid('audit.commerce.checkout', o.k), to_timestamp(o.placed_s), 'user', o.user_id, o.brand,
                   'order.placed', 'order', o.id::text, o.brand, o.req,
                   jsonb_build_object('number', o.number, 'total_cents', o.total, 'currency', o.currency, 'items', o.n_items)
            FROM _o AS o WHERE o.k BETWEEN %(lo)s AND %(hi)s
            """,
        "payments": """
            SELECT pg_temp.gid('audit.payments.checkout', o.k), to_timestamp(o.placed_s + 2), 'service', 'commerce', NULL,
                   CASE o.charge_status WHEN 'failed' THEN 'charge.failed' WHEN 'pending' THEN 'charge.created'
                        ELSE 'charge.succeeded' END,
                   'charge', pg_temp.gid('charge', o.k)::text, o.brand, o.req,
                   jsonb_build_object('order_id', o.id, 'amount_cents', o.total, 'currency', o.currency, 'processor', o.processor)
                   || CASE WHEN o.charge_status = 'failed'
                           THEN jsonb_build_object('failure_code', pg_temp.elem(ARRAY['card_declined', 'insufficient_funds',
                                                                                      'expired_card'], 'charge.failure', o.k))
                           ELSE '{}'::jsonb END
            FROM _o AS o WHERE o.k BETWEEN %(lo)s AND %(hi)s
            """,
        "accounting": """
            SELECT pg_temp.gid('audit.accounting.checkout', o.k), to_timestamp(o.placed_s + 3), 'service', 'payments', NULL,
                   'ledger.entries_posted', 'transaction', pg_temp.gid('txn', o.k * 4)::text, o.brand, o.req,
                   jsonb_build_object('entries', jsonb_build_array(pg_temp.gid('txn', o.k * 4), pg_temp.gid('txn', o.k * 4 + 1)),
                                      'amount_cents', o.total, 'reference_type', 'charge',
                                      'reference_id', pg_temp.gid('charge', o.k))
            FROM _o AS o WHERE o.paid AND o.k BETWEEN %(lo)s AND %(hi)s
            """,
        "cash": """
            SELECT pg_temp.gid('audit.cash.checkout', o.k), to_timestamp(o.placed_s + 4), 'service', 'commerce', NULL,
                   'cash.earned', 'ledger_entry', pg_temp.gid('cash.earn', o.k)::text, o.brand, o.req,
                   jsonb_build_object('amount_cents', o.earn, 'wallet_id', pg_temp.gid('wallet', o.uidx), 'order_id', o.id)
            FROM _o AS o WHERE o.paid AND o.k BETWEEN %(lo)s AND %(hi)s
            """,
        "comms": """
            SELECT pg_temp.gid('audit.comms.checkout', o.k), to_timestamp(o.placed_s + 5), 'service', 'commerce', NULL,
                   'message.sent', 'message', pg_temp.gid('message.order', o.k)::text, o.brand, o.req,
                   jsonb_build_object('template', o.template, 'channel', 'email', 'order_id', o.id)
            FROM _o AS o WHERE o.k BETWEEN %(lo)s AND %(hi)s
            """,
    }
    steps: list[_Step] = []
    for schema, select in checkout.items():
        steps += _chunked(
            f"{schema}.audit_log",
            _audit_insert(schema, select),
            rows_per_key=1,
            label=f"{schema}.audit_log (checkout)",
            **per_order,
        )
    steps += _chunked(
        "commerce.audit_log",
        _audit_insert(
            "commerce",
            """
        SELECT pg_temp.gid('audit.commerce.status', o.k * 8 + t.n), to_timestamp(least(t.at_s, %(t1)s - 1)),
               t.actor_type, t.actor_id, NULL, 'order.status_changed', 'order', o.id::text, o.brand,
               CASE t.n WHEN 1 THEN o.req WHEN 4 THEN o.refund_req
                        ELSE 'req_' || substr(pg_temp.hex('audit.commerce.status.req', o.k * 8 + t.n), 1, 24) END,
               jsonb_build_object('before', jsonb_build_object('status', t.before), 'after', jsonb_build_object('status', t.after))
        FROM _o AS o
        CROSS JOIN LATERAL (
          SELECT o.placed_s + 86400 + pg_temp.pick('order.shipped', o.k, 3 * 86400) AS shipped_s
        ) AS s
        CROSS JOIN LATERAL (VALUES
          (1, 'pending', 'paid', 'service', 'payments', o.placed_s + 3, o.paid),
          (2, 'paid', 'shipped', 'service', 'jobs', s.shipped_s, o.order_status IN ('shipped', 'delivered')),
          (3, 'shipped', 'delivered', 'service', 'webhooks',
           s.shipped_s + 2 * 86400 + pg_temp.pick('order.delivered', o.k, 4 * 86400), o.order_status = 'delivered'),
          (4, 'paid', 'refunded', 'service', 'payments', o.refund_s + 2, o.order_status = 'refunded'),
          (5, 'pending', 'cancelled', 'system', 'scheduler', o.placed_s + 900, o.order_status = 'cancelled')
        ) AS t(n, before, after, actor_type, actor_id, at_s, applies)
        WHERE t.applies AND o.k BETWEEN %(lo)s AND %(hi)s
        """,
        ),
        rows_per_key=2.5,
        label="commerce.audit_log (status changes)",
        **per_order,
    )
    steps += [
        # A refund is one request across payments, commerce (above), accounting and cash.
        _one(
            "payments.audit_log",
            _audit_insert(
                "payments",
                """
            SELECT pg_temp.gid('audit.payments.refund', o.k), to_timestamp(o.refund_s),
                   CASE WHEN o.refund_by IS NULL THEN 'user' ELSE 'staff' END, coalesce(o.refund_by, o.user_id), o.brand,
                   'refund.created', 'refund', pg_temp.gid('refund', o.k)::text, o.brand, o.refund_req,
                   jsonb_build_object('charge_id', pg_temp.gid('charge', o.k), 'amount_cents', o.refund_amount,
                                      'before', jsonb_build_object('charge_status', 'succeeded'),
                                      'after', jsonb_build_object('charge_status', o.charge_status))
            FROM _o AS o WHERE o.refund_amount IS NOT NULL
            """,
            ),
            label="payments.audit_log (refunds)",
        ),
        _one(
            "accounting.audit_log",
            _audit_insert(
                "accounting",
                """
            SELECT pg_temp.gid('audit.accounting.refund', o.k), to_timestamp(o.refund_s + 1), 'service', 'payments', NULL,
                   'ledger.entries_posted', 'transaction', pg_temp.gid('txn', o.k * 4 + 2)::text, o.brand, o.refund_req,
                   jsonb_build_object('entries', jsonb_build_array(pg_temp.gid('txn', o.k * 4 + 2), pg_temp.gid('txn', o.k * 4 + 3)),
                                      'amount_cents', o.refund_amount, 'reference_type', 'refund',
                                      'reference_id', pg_temp.gid('refund', o.k))
            FROM _o AS o WHERE o.paid AND o.refund_amount IS NOT NULL
            """,
            ),
            label="accounting.audit_log (refunds)",
        ),
        _one(
            "cash.audit_log",
            _audit_insert(
                "cash",
                """
            SELECT pg_temp.gid('audit.cash.follow', o.k), to_timestamp(o.follow_s), f.actor_type, f.actor_id,
                   CASE WHEN f.actor_type = 'user' THEN o.brand END,
                   f.event_type, 'ledger_entry', pg_temp.gid('cash.follow', o.k)::text, o.brand, f.request_id,
                   jsonb_build_object('amount_cents', -o.earn, 'wallet_id', pg_temp.gid('wallet', o.uidx))
            FROM _o AS o
            CROSS JOIN LATERAL (
              SELECT CASE o.cash_follow WHEN 'redeem' THEN 'user' WHEN 'expire' THEN 'system' ELSE 'service' END AS actor_type,
                     CASE o.cash_follow WHEN 'redeem' THEN o.user_id WHEN 'expire' THEN 'scheduler' ELSE 'payments' END AS actor_id,
                     CASE o.cash_follow WHEN 'redeem' THEN 'cash.redeemed' WHEN 'expire' THEN 'cash.expired'
                          ELSE 'cash.adjusted' END AS event_type,
                     CASE o.cash_follow WHEN 'adjust' THEN o.refund_req WHEN 'redeem'
                          THEN 'req_' || substr(pg_temp.hex('cash.redeem.req', o.k), 1, 24) END AS request_id
            ) AS f
            WHERE o.cash_follow IS NOT NULL
            """,
            ),
            label="cash.audit_log (redemptions, expiries, refunds)",
        ),
        _one(
            "payments.audit_log",
            _audit_insert(
                "payments",
                """
            SELECT pg_temp.gid('audit.payments.dispute', d.id::text || ':' || e.n), e.at, e.actor_type, e.actor_id,
                   CASE WHEN e.actor_type = 'staff' THEN d.brand_id END, e.event_type, 'dispute', d.id::text, d.brand_id,
                   'req_' || substr(pg_temp.hex('audit.payments.dispute.req', d.id::text || ':' || e.n), 1, 24), e.details
            FROM payments.disputes AS d
            CROSS JOIN LATERAL (VALUES
              (1, d.opened_at, 'service', 'webhooks', 'dispute.opened',
               jsonb_build_object('charge_id', d.charge_id, 'reason', d.reason, 'amount_cents', d.amount_cents)),
              (2, d.closed_at, 'staff', 'staff:' || (1 + pg_temp.pick('dispute.staff', d.id::text, %(staff)s)), 'dispute.closed',
               jsonb_build_object('before', jsonb_build_object('status', 'under_review'),
                                  'after', jsonb_build_object('status', d.status)))
            ) AS e(n, at, actor_type, actor_id, event_type, details)
            WHERE e.at IS NOT NULL
            """,
            ),
            label="payments.audit_log (disputes)",
        ),
        *_chunked(
            "identity.audit_log",
            _audit_insert(
                "identity",
                """
            SELECT pg_temp.gid('audit.identity.' || e.kind, s.id::text), e.at, 'user', s.user_id::text, s.brand_id,
                   e.event_type, e.entity_type, e.entity_id, s.brand_id,
                   'req_' || substr(pg_temp.hex('audit.identity.' || e.kind || '.req', s.id::text), 1, 24), e.details
            FROM _u AS u
            JOIN identity.sessions AS s ON s.user_id = u.id
            CROSS JOIN LATERAL (VALUES
              ('login', s.created_at, 'user.login', 'session', s.id::text,
               jsonb_build_object('ip', host(s.ip), 'user_agent', s.user_agent, 'mfa', u.mfa), true),
              ('login_failed', to_timestamp(pg_temp.epoch(s.created_at) - 30 - pg_temp.pick('login.failed_at', s.id::text, 600)),
               'user.login_failed', 'user', s.user_id::text,
               jsonb_build_object('ip', host(s.ip), 'reason', pg_temp.elem(ARRAY['bad_password', 'bad_password', 'mfa_failed',
                                                                                 'rate_limited'], 'login.reason', s.id::text)),
               pg_temp.pick('login.failed', s.id::text, 100) < 12)
            ) AS e(kind, at, event_type, entity_type, entity_id, details, applies)
            WHERE e.applies AND u.i BETWEEN %(lo)s AND %(hi)s
            """,
            ),
            first=1,
            last=scale.users,
            rows_per_key=4,
            scale=scale,
            label="identity.audit_log (logins)",
        ),
        _one(
            "identity.audit_log",
            _audit_insert(
                "identity",
                """
            SELECT pg_temp.gid('audit.identity.status', u.i), to_timestamp(u.last_login_s + 600),
                   CASE u.status WHEN 'locked' THEN 'system' ELSE 'user' END,
                   CASE u.status WHEN 'locked' THEN 'scheduler' ELSE u.id::text END,
                   CASE u.status WHEN 'deleted' THEN u.brand END,
                   'user.' || u.status, 'user', u.id::text, u.brand,
                   CASE u.status WHEN 'deleted' THEN 'req_' || substr(pg_temp.hex('audit.identity.status.req', u.i), 1, 24) END,
                   jsonb_build_object('before', jsonb_build_object('status', 'active'),
                                      'after', jsonb_build_object('status', u.status),
                                      'reason', CASE u.status WHEN 'locked' THEN 'too_many_failed_logins'
                                                              ELSE 'account_deletion_requested' END)
            FROM _u AS u WHERE u.status <> 'active'
            """,
            ),
            label="identity.audit_log (locks, deletions)",
        ),
    ]
    return steps


@dataclass(frozen=True)
class _MiscAudit:
    """Service-specific audit events about real rows of one table of the schema."""

    schema: str
    table: str
    entity_type: str
    events: tuple[str, ...]  # the first one carries the before/after diff, when there is one
    callers: tuple[str, ...]  # services that act on this service (actor_type "service")
    weight: float = 0.5  # share of scale.audit_misc_per_service
    user: str | None = None  # SQL for the row's user id, when a user owns the row
    time: str | None = None  # SQL for the row's own timestamp; events happen after it
    before: str | None = None  # SQL (jsonb) for the state before the first event
    after: str | None = None  # SQL (jsonb) for the state after it
    pk: str = "id"


class _Diff(TypedDict):
    before: str
    after: str


def _status_diff(column: str, values: Sequence[str]) -> _Diff:
    """before/after SQL: ``after`` is the row's status, ``before`` the next one in ``values``."""
    array = "ARRAY[" + ", ".join(f"'{v}'" for v in values) + "]"
    current = f"{column}::text"
    return {
        "before": f"jsonb_build_object('status', ({array})[1 + mod(coalesce(array_position({array}, {current}), 0), {len(values)})])",
        "after": f"jsonb_build_object('status', {current})",
    }


_MISC_AUDIT = (
    _MiscAudit("platform", "brands", "brand", ("brand.status_changed", "brand.settings_published"), ("backoffice",),
               weight=0.02, time="e.created_at", **_status_diff("e.status", ("active", "paused", "retired"))),
    _MiscAudit("identity", "users", "user",
               ("user.status_changed", "user.profile_updated", "user.password_changed", "user.mfa_enrolled",
                "user.email_verified"), ("backoffice", "commerce", "comms"),
               weight=1.0, user="e.id::text", time="e.created_at",
               **_status_diff("e.status", ("active", "locked", "deleted"))),
    _MiscAudit("accounting", "accounts", "account",
               ("account.reconciled", "account.statement_generated", "balance.recomputed"), ("payments", "jobs"),
               user="CASE e.owner_type WHEN 'user' THEN e.owner_id END"),
    _MiscAudit("payments", "charges", "charge",
               ("charge.status_changed", "charge.captured", "charge.receipt_sent", "payment_method.updated"),
               ("commerce", "webhooks"), weight=0.8, user="e.user_id", time="e.created_at",
               **_status_diff("e.status", ("pending", "succeeded", "failed", "refunded", "partially_refunded"))),
    _MiscAudit("commerce", "carts", "cart", ("cart.status_changed", "cart.item_added", "cart.item_removed"),
               ("comms", "analytics"), weight=0.8, user="e.user_id", time="e.updated_at",
               **_status_diff("e.status", ("open", "abandoned", "converted"))),
    _MiscAudit("clinical", "biomarkers", "biomarker", ("biomarker.corrected", "biomarker.reviewed", "biomarker.imported"),
               ("patient-graph", "integrations"), weight=0.8, user="e.user_id", time="e.measured_at",
               before="jsonb_build_object('value', round(e.value * 0.9, 2))",
               after="jsonb_build_object('value', e.value)"),
    _MiscAudit("affiliates", "affiliates", "affiliate",
               ("affiliate.status_changed", "affiliate.tier_changed", "affiliate.payout_details_updated"),
               ("commerce", "membership"), user="e.user_id", time="e.joined_at",
               **_status_diff("e.status", ("active", "paused", "terminated"))),
    _MiscAudit("membership", "member_status", "member_status",
               ("membership.status_changed", "membership.renewed", "membership.tier_viewed"), ("commerce", "payments"),
               user="e.user_id", time="e.since", **_status_diff("e.status", ("active", "lapsed", "cancelled"))),
    _MiscAudit("comms", "messages", "message", ("message.status_changed", "message.opened", "message.clicked"),
               ("commerce", "identity", "booking"), weight=1.0, user="e.user_id", time="e.sent_at",
               **_status_diff("e.status", ("queued", "sent", "delivered", "bounced", "failed"))),
    _MiscAudit("community", "posts", "post", ("post.status_changed", "post.edited", "post.reported"), ("moderation",),
               user="e.author_user_id", time="e.created_at",
               **_status_diff("e.status", ("visible", "hidden", "removed"))),
    _MiscAudit("follows", "blocks", "block", ("block.created", "block.reviewed"), ("community",),
               weight=0.3, user="e.blocker_id", time="e.created_at"),
    _MiscAudit("content", "articles", "article", ("article.updated", "article.published", "article.unpublished"),
               ("content-publisher",), weight=0.3, time="e.published_at",
               before="jsonb_build_object('title', e.title || ' (draft)')",
               after="jsonb_build_object('title', e.title)"),
    _MiscAudit("analytics", "cohorts", "cohort", ("cohort.definition_changed", "cohort.recomputed", "export.requested"),
               ("jobs",), weight=0.3, before="jsonb_build_object('definition', '{}'::jsonb)",
               after="jsonb_build_object('definition', e.definition)"),
    _MiscAudit("patient_graph", "customer_profiles", "customer_profile",
               ("profile.conditions_changed", "profile.merged", "profile.medications_updated"),
               ("clinical", "commerce"), user="e.user_id", time="e.updated_at",
               before="jsonb_build_object('conditions', to_jsonb(e.conditions[2:]))",
               after="jsonb_build_object('conditions', to_jsonb(e.conditions))"),
    _MiscAudit("webhooks", "endpoints", "endpoint", ("endpoint.toggled", "endpoint.secret_rotated", "endpoint.updated"),
               ("backoffice",), weight=0.1, before="jsonb_build_object('active', NOT e.active)",
               after="jsonb_build_object('active', e.active)"),
    _MiscAudit("events", "outbox", "outbox_event", ("outbox.replayed", "outbox.dead_lettered"), ("jobs",),
               weight=0.3, time="e.created_at"),
    _MiscAudit("entitlements", "tier_features", "tier_feature",
               ("entitlement.limits_changed", "entitlement.granted", "entitlement.revoked"), ("membership",),
               weight=0.1, before="jsonb_build_object('limits', NULL::jsonb)",
               after="jsonb_build_object('limits', e.limits)"),
    _MiscAudit("cash", "wallets", "wallet", ("wallet.adjusted", "wallet.frozen", "wallet.statement_sent"),
               ("commerce", "jobs"), user="e.user_id", time="e.updated_at",
               before="jsonb_build_object('balance_cents', e.balance_cents + 500)",
               after="jsonb_build_object('balance_cents', e.balance_cents)"),
    _MiscAudit("booking", "visits", "visit", ("visit.status_changed", "visit.rescheduled", "visit.notes_updated"),
               ("comms", "clinical"), user="e.user_id", time="e.scheduled_at",
               **_status_diff("e.status", ("scheduled", "completed", "cancelled", "no_show"))),
    _MiscAudit("ai", "conversations", "conversation",
               ("conversation.started", "conversation.flagged", "conversation.exported"), ("clinical",),
               user="e.user_id", time="e.started_at"),
    _MiscAudit("capri", "program_enrollments", "enrollment",
               ("enrollment.status_changed", "check_in.reminder_sent", "enrollment.coach_assigned"), ("comms",),
               weight=0.3, user="e.user_id", time="e.enrolled_at",
               **_status_diff("e.status", ("active", "paused", "completed", "withdrawn"))),
    _MiscAudit("integrations", "wearable_connections", "wearable_connection",
               ("connection.status_changed", "connection.token_refreshed", "sync.failed"), ("jobs",),
               user="e.user_id", time="e.connected_at",
               **_status_diff("e.status", ("connected", "expired", "revoked", "error"))),
    _MiscAudit("jobs", "job_runs", "job_run", ("job.status_changed", "job.retried", "job.cancelled"), ("scheduler",),
               weight=0.3, time="e.started_at", **_status_diff("e.status", ("running", "succeeded", "failed"))),
)  # fmt: skip

# Actors: the row's owner (when a user owns it), staff, a calling service or the scheduler.
_MISC_AUDIT_INSERT = """
INSERT INTO {table} {columns}
SELECT pg_temp.gid({kind}, a.k), a.at, a.actor_type,
       CASE a.actor_type WHEN 'user' THEN a.user_id
                         WHEN 'staff' THEN 'staff:' || (1 + pg_temp.pick('audit.staff', a.k, %(staff)s))
                         WHEN 'service' THEN pg_temp.elem(%(callers)s::text[], {kind} || '.caller', a.k)
                         ELSE 'scheduler' END,
       CASE WHEN a.actor_type IN ('user', 'staff') THEN a.brand_id END,
       a.event_type, {entity_type}, a.entity_id, a.brand_id,
       CASE WHEN a.actor_type <> 'system' THEN 'req_' || substr(pg_temp.hex({kind} || '.req', a.k), 1, 24) END,
       CASE WHEN a.event_no = 1 AND a.after IS NOT NULL
            THEN jsonb_build_object('before', a.before, 'after', a.after)
            ELSE jsonb_build_object('via', CASE a.actor_type WHEN 'user' THEN 'app' WHEN 'staff' THEN 'backoffice'
                                                             WHEN 'service' THEN 'api' ELSE 'cron' END) END
FROM (
  SELECT x.k, e.*, x.event_no, (%(events)s::text[])[x.event_no] AS event_type,
         pg_temp.tsu({kind} || '.at', x.k, least(e.t0, %(t1)s - 3600), %(t1)s) AS at,
         CASE WHEN e.user_id IS NOT NULL AND x.p < 45 THEN 'user' WHEN x.p < 70 THEN 'staff'
              WHEN x.p < 90 THEN 'service' ELSE 'system' END AS actor_type
  FROM (
    SELECT k, 1 + pg_temp.pick({kind} || '.entity', k, (SELECT count(*) FROM _e)) AS n,
           1 + pg_temp.pick({kind} || '.event', k, cardinality(%(events)s::text[]))::int AS event_no,
           pg_temp.pick({kind} || '.actor', k, 100) AS p
    FROM generate_series(%(lo)s, %(hi)s) AS k
    -- OFFSET 0 keeps each level from being flattened into the next: every hash is computed
    -- once per row, not once per reference.
    OFFSET 0
  ) AS x
  JOIN _e AS e ON e.n = x.n
  OFFSET 0
) AS a
"""
# The rows with events, numbered 1..n: event k is about row 1 + pick(k, n). They are the first
# rows in id order (ids are hashes, so a random sample), read off the primary key's index, about
# three events each: the audited rows have a history.
_MISC_AUDIT_ENTITIES = """
CREATE TEMP TABLE _e AS
SELECT row_number() OVER (ORDER BY e.{pk}) AS n, e.{pk}::text AS entity_id, e.brand_id,
       {user} AS user_id, greatest(pg_temp.epoch({time}), %(t0)s) AS t0, {before} AS before, {after} AS after
FROM (SELECT * FROM {table} ORDER BY {pk} LIMIT %(entities)s) AS e
"""


def _misc_audit_steps(scale: Scale) -> list[_Step]:
    steps: list[_Step] = []
    for spec in _MISC_AUDIT:
        entities = sql.SQL(_MISC_AUDIT_ENTITIES).format(
            pk=sql.Identifier(spec.pk),
            table=sql.Identifier(spec.schema, spec.table),
            user=sql.SQL(spec.user or "NULL::text"),
            time=sql.SQL(spec.time or "NULL::timestamptz"),
            before=sql.SQL(spec.before or "NULL::jsonb"),
            after=sql.SQL(spec.after or "NULL::jsonb"),
        )
        insert = sql.SQL(_MISC_AUDIT_INSERT).format(
            table=sql.Identifier(spec.schema, "audit_log"),
            columns=_AUDIT_COLUMNS,
            kind=sql.Literal(f"audit.{spec.schema}.misc"),
            entity_type=sql.Literal(spec.entity_type),
        )
        events = max(1, round(scale.audit_misc_per_service * spec.weight))
        chunks = _chunked(
            f"{spec.schema}.audit_log",
            insert,
            first=1,
            last=events,
            rows_per_key=1,
            scale=scale,
            label=f"{spec.schema}.audit_log (service events)",
            before=("DROP TABLE IF EXISTS _e", entities, "CREATE UNIQUE INDEX ON _e (n)", "ANALYZE _e"),
        )
        steps += [
            replace(
                step,
                params={
                    **step.params,
                    "entities": math.ceil(events / 3),
                    "events": list(spec.events),
                    "callers": list(spec.callers),
                },
            )
            for step in chunks
        ]
    return steps


# --------------------------------------------------------------------------------------------
# Public API


def _plan(scale: Scale) -> list[_Step]:
    plan = [
        *_prepare_steps(),
        *_platform_identity_steps(scale),
        *_order_steps(scale),
        *_social_steps(scale),
        *_platform_services_steps(scale),
        *_program_steps(scale),
        *_health_steps(scale),
        *_audit_flow_steps(scale),
        *_misc_audit_steps(scale),
    ]
    tables = sorted({step.table for step in plan if step.table})
    analyze = sql.SQL("ANALYZE {}").format(sql.SQL(", ").join(sql.Identifier(*t.split(".")) for t in tables))
    return [*plan, _Step("analyze", None, analyze)]


def steps(scale: Scale) -> list[str]:
    """Labels of the steps ``seed_cluster`` runs for ``scale``, in order (one progress call each)."""
    return [step.label for step in _plan(scale)]


def _scalar(conn: psycopg.Connection, query: LiteralString, params: Sequence[object] | None = None) -> Any:
    """The value of a SELECT that always returns one row of one column."""
    row = conn.execute(query, params).fetchone()
    assert row is not None, "the query returned no row"
    return row[0]


def is_seeded(conn: psycopg.Connection) -> bool:
    """Whether the cluster behind ``conn`` is migrated and already holds users."""
    if conn.execute("SELECT to_regclass('identity.users')").fetchone() == (None,):
        return False
    return bool(_scalar(conn, "SELECT EXISTS (SELECT 1 FROM identity.users)"))


# Session settings for the load, restored afterwards. UTC and ISO make every text rendering of
# a timestamp (JSON, dates) independent of the caller's session.
_SESSION_SETTINGS = {
    "TimeZone": "UTC",
    "DateStyle": "ISO, MDY",
    "synchronous_commit": "off",
    "work_mem": "64MB",
    "maintenance_work_mem": "512MB",
}


def seed_cluster(
    conn: psycopg.Connection,
    *,
    scale: Scale,
    seed: int = 1,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Fill a freshly migrated, empty cluster; return ``{"schema.table": rows}`` for every table.

    ``conn`` is a superuser connection in autocommit mode. ``progress(label, rows)`` is called
    once per entry of ``steps(scale)``, after that step.
    """
    if is_seeded(conn):
        raise ValueError("The cluster already holds data: seed a freshly migrated database.")
    plan = _plan(scale)
    counts = dict.fromkeys(_platform_tables(conn), 0)
    params = _params(scale)
    saved = {name: _scalar(conn, "SELECT current_setting(%s)", [name]) for name in _SESSION_SETTINGS}
    rebuilt = _bulk_tables(plan, scale)
    dropped: dict[str, list[str]] = {}
    # Client-side binding: each chunk is planned with its own bounds, never as a generic plan.
    cur = ClientCursor(conn)
    try:
        for name, value in _SESSION_SETTINGS.items():
            conn.execute("SELECT set_config(%s, %s, false)", [name, value])
        for helper in _helper_functions(seed):
            conn.execute(helper)
        for step in plan:
            if step.table in rebuilt and step.table not in dropped:
                dropped[step.table] = _drop_plain_indexes(conn, step.table)
            step_params = {**params, **step.params}
            for statement in step.before:
                cur.execute(statement, step_params)
            cur.execute(step.sql, step_params)
            rows = cur.rowcount if step.table else 0
            for statement in step.after:
                cur.execute(statement, step_params)
            if step.table:
                counts[step.table] += rows
            if step.table in dropped and step is rebuilt[step.table]:
                _create_indexes(conn, dropped.pop(step.table))
            if progress:
                progress(step.label, rows)
    finally:
        cur.close()
        # Even after a failure, leave the tables with their indexes (the data is partial anyway).
        for definitions in dropped.values():
            _create_indexes(conn, definitions)
        temp_tables = sql.SQL(", ").join(sql.Identifier("pg_temp", name) for name in _TEMP_TABLES)
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(temp_tables))
        for name, value in saved.items():
            conn.execute("SELECT set_config(%s, %s, false)", [name, value])
    return counts


def _platform_tables(conn: psycopg.Connection) -> list[str]:
    # A partitioned audit_log counts as one table (rows are inserted through its parent).
    rows = conn.execute(
        "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1",
        [list(SCHEMA_NAMES)],
    )
    return [r[0] for r in rows]


def _bulk_tables(plan: Sequence[_Step], scale: Scale) -> dict[str, _Step]:
    """The tables whose indexes are rebuilt, each with the last step that writes it."""
    if not scale.rebuild_indexes:
        return {}
    expected: dict[str, float] = {}
    for step in plan:
        if step.table:
            expected[step.table] = expected.get(step.table, 0) + step.rows
    return {step.table: step for step in plan if step.table and expected[step.table] >= _REBUILD_MIN_ROWS}


def _drop_plain_indexes(conn: psycopg.Connection, table: str) -> list[str]:
    """Drop the indexes that back no constraint; return their definitions to re-create them."""
    rows = conn.execute(
        """
        SELECT pg_get_indexdef(i.indexrelid), n.nspname, c.relname
        FROM pg_index AS i
        JOIN pg_class AS c ON c.oid = i.indexrelid
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE i.indrelid = %s::regclass
          AND NOT EXISTS (SELECT 1 FROM pg_constraint AS k WHERE k.conindid = i.indexrelid)
        ORDER BY c.relname
        """,
        [table],
    ).fetchall()
    for _definition, schema, name in rows:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(schema, name)))
    # A partitioned table's index reads "ON ONLY": re-created so, it would cover no partition.
    return [definition.replace(" ON ONLY ", " ON ", 1) for definition, _schema, _name in rows]


def _create_indexes(conn: psycopg.Connection, definitions: Sequence[str]) -> None:
    for definition in definitions:
        conn.execute(sql.SQL(definition))  # pg_get_indexdef's own output
