"""Build Django's DATABASES from the environment: our own database plus one alias per schema.

The back-office reaches the platform cluster through one alias per service schema
(``platform_<schema>``) and one catalogue alias (``platform``) used only to read pg_catalog.
Every platform alias is read-only three times over: the router refuses writes, the session is
started read-only, and the role it logs in as has SELECT only.

Nothing here connects or starts anything: a database in the embedded server (an ``embedded://``
URL, see backoffice.embedded) gets the engine ``backoffice.embedded_backend``, which finds (and if
need be starts) the server when it first connects.
"""

from __future__ import annotations

from typing import Any

import environ

from backoffice import embedded
from backoffice.platform_schemas import SCHEMAS

CATALOG_ALIAS = "platform"
ALIAS_PREFIX = "platform_"


def alias_for_schema(schema: str) -> str:
    return f"{ALIAS_PREFIX}{schema}"


def url_variable(alias: str) -> str:
    """The environment variable that gives an alias its URL."""
    if alias == "default":
        return "DATABASE_URL"
    if alias == CATALOG_ALIAS:
        return "PLATFORM_DATABASE_URL"
    return f"PLATFORM_DATABASE_URL_{alias.removeprefix(ALIAS_PREFIX).upper()}"


def parse_url(url: str) -> dict[str, Any]:
    """A django-environ URL as a settings dict, with a Unix-socket ``?host=`` moved into HOST.

    An ``embedded://role@/database`` URL gets the embedded server's engine, no HOST, and its
    route (primary or standby, direct or through PgBouncer) in EMBEDDED_SERVER/EMBEDDED_POOLER.
    """
    config = environ.Env.db_url_config(url, engine=embedded.ENGINE if embedded.is_embedded(url) else None)
    options = config.setdefault("OPTIONS", {})
    if not config.get("HOST") and "host" in options:
        config["HOST"] = options.pop("host")
    if embedded.is_embedded(url):
        config.update(embedded.take_route(options))
    return config


def is_embedded(config: dict[str, Any]) -> bool:
    """Whether an alias's settings put it in the embedded server."""
    return config["ENGINE"] == embedded.ENGINE


def url_of(config: dict[str, Any]) -> str:
    """A libpq URL for an alias's settings (user, host or socket, port, database; no password).

    For a database in the embedded server, this finds its socket, starting the server if needed.
    """
    server = embedded.server_of(config) if is_embedded(config) and not config.get("HOST") else None
    host = config.get("HOST") or (server.socket_dir if server else "")
    port = str(config.get("PORT") or (server.port if server and server.port else ""))
    if host.startswith("/"):  # a Unix socket directory
        query = f"?host={host}" + (f"&port={port}" if port else "")
        return f"postgresql://{config['USER']}@/{config['NAME']}{query}"
    return f"postgresql://{config['USER']}@{host}{':' + port if port else ''}/{config['NAME']}"


def platform_alias(
    url: str,
    *,
    schema: str | None,
    statement_timeout_ms: int,
    conn_max_age: int,
    pool: bool | dict[str, Any],
    startup_options: bool,
    transaction_pooler: bool = False,
) -> dict[str, Any]:
    """Settings for one platform alias.

    ``startup_options`` sends ``default_transaction_read_only`` and ``statement_timeout`` as
    connection startup parameters. ``transaction_pooler`` says a transaction-mode pooler
    (PgBouncer, RDS Proxy) stands between us and the server: see :func:`behind_pooler`.
    """
    config = parse_url(url)
    options = config["OPTIONS"]
    options.setdefault("application_name", f"backoffice:{schema or 'catalog'}")
    if startup_options:
        options["options"] = (
            f"-c default_transaction_read_only=on -c statement_timeout={statement_timeout_ms}"
        )
    behind_pooler(config, transaction_pooler)
    if pool:
        options["pool"] = pool
        conn_max_age = 0  # Django refuses persistent connections together with a pool.
    config["CONN_MAX_AGE"] = conn_max_age
    config["CONN_HEALTH_CHECKS"] = True
    config["PLATFORM_SCHEMA"] = schema
    config["STATEMENT_TIMEOUT_MS"] = statement_timeout_ms
    # The test runner must never create, migrate or flush a platform database.
    config["TEST"] = {"MIGRATE": False}
    return config


def behind_pooler(config: dict[str, Any], pooled: bool) -> None:
    """Make (or unmake) an alias's settings safe behind a transaction-mode pooler.

    Behind PgBouncer in transaction mode each transaction may run on another server connection,
    shared with other clients, so nothing may outlive a transaction: no startup parameters (the
    pooler refuses ``options``; the read-only session and statement timeout come from the role,
    ``ALTER ROLE ... SET``, which the reference cluster sets and a pooler cannot strip), no
    prepared statements (psycopg's ``prepare_threshold: None``), no server-side cursors (Django's
    DISABLE_SERVER_SIDE_CURSORS).
    """
    options = config.setdefault("OPTIONS", {})
    if pooled:
        options.pop("options", None)
        options["prepare_threshold"] = None
    else:
        options.pop("prepare_threshold", None)
    config["DISABLE_SERVER_SIDE_CURSORS"] = pooled
    config["TRANSACTION_POOLER"] = pooled


def platform_databases(
    env: environ.Env,
    *,
    default_url: str | None,
    default_schema_url: dict[str, str] | None = None,
    pooled: bool = False,
) -> dict[str, dict[str, Any]]:
    """Every platform alias, each from PLATFORM_DATABASE_URL or PLATFORM_DATABASE_URL_<SCHEMA>.

    With PLATFORM_DATABASE_URL unset, ``default_url`` stands in for it and ``default_schema_url``
    gives a schema its own default; with it set, a schema without its own URL uses it.
    ``pooled`` (PGBOUNCER=1: the default URLs go through the embedded PgBouncer) makes
    PLATFORM_TRANSACTION_POOLER default to true.
    """
    pooler = env.bool("PLATFORM_TRANSACTION_POOLER", default=pooled)
    common = {
        "statement_timeout_ms": env.int("PLATFORM_STATEMENT_TIMEOUT_MS", default=5000),
        "conn_max_age": env.int("PLATFORM_CONN_MAX_AGE", default=60),
        "pool": _pool_setting(env),
        "transaction_pooler": pooler,
        "startup_options": env.bool("PLATFORM_STARTUP_OPTIONS", default=not pooler),
    }
    base_url = env.str("PLATFORM_DATABASE_URL", default="")
    schema_defaults = {} if base_url else (default_schema_url or {})
    base_url = base_url or default_url or ""
    if not base_url:
        raise environ.ImproperlyConfigured(
            "Set PLATFORM_DATABASE_URL to the platform cluster's read-only URL."
        )
    databases = {CATALOG_ALIAS: platform_alias(base_url, schema=None, **common)}
    for schema in SCHEMAS:
        fallback = schema_defaults.get(schema.name, base_url)
        url = env.str(f"PLATFORM_DATABASE_URL_{schema.name.upper()}", default=fallback)
        databases[alias_for_schema(schema.name)] = platform_alias(url, schema=schema.name, **common)
    return databases


def _pool_setting(env: environ.Env) -> bool | dict[str, Any]:
    size = env.int("PLATFORM_POOL_MAX_SIZE", default=0)
    if size <= 0:
        return False
    return {"min_size": 0, "max_size": size, "timeout": env.float("PLATFORM_POOL_TIMEOUT", default=5.0)}
