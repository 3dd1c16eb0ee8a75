"""DATABASES from the environment: real URLs, and the embedded fallback, which starts nothing."""

from __future__ import annotations

import environ

from backoffice import databases as db
from backoffice import embedded
from backoffice.platform_schemas import SCHEMAS

EMBEDDED_DEFAULTS = {
    "default_url": embedded.readonly_url("backoffice_ro"),
    "default_schema_url": {s.name: embedded.readonly_url(s.readonly_role) for s in SCHEMAS},
}


def env_of(**variables: str) -> environ.Env:
    env = environ.Env()
    env.ENVIRON = variables
    return env


def test_parse_url_gives_embedded_urls_the_embedded_engine_and_no_host():
    config = db.parse_url("embedded://backoffice_ro_clinical@/platform")
    assert config["ENGINE"] == "backoffice.embedded_backend"
    assert (config["USER"], config["NAME"], config["HOST"], config["PORT"]) == (
        "backoffice_ro_clinical",
        "platform",
        "",
        "",
    )
    assert db.parse_url("postgresql://u@h:5433/p")["ENGINE"] == "django.db.backends.postgresql"


def test_platform_databases_use_each_schemas_embedded_role_without_a_platform_url():
    databases = db.platform_databases(env_of(), **EMBEDDED_DEFAULTS)
    assert databases[db.CATALOG_ALIAS]["USER"] == "backoffice_ro"
    assert databases["platform_clinical"]["USER"] == "backoffice_ro_clinical"
    assert all(db.is_embedded(config) for config in databases.values())


def test_platform_databases_never_mix_the_embedded_server_with_a_platform_url():
    env = env_of(
        PLATFORM_DATABASE_URL="postgresql://reader@platform.example:5432/platform",
        PLATFORM_DATABASE_URL_CLINICAL="postgresql://clinical_reader@platform.example:5432/platform",
    )
    databases = db.platform_databases(env, **EMBEDDED_DEFAULTS)
    assert not any(db.is_embedded(config) for config in databases.values())
    assert databases["platform_identity"]["USER"] == "reader"
    assert databases["platform_clinical"]["USER"] == "clinical_reader"


def test_url_variable_names_the_variable_that_sets_each_alias():
    assert db.url_variable("default") == "DATABASE_URL"
    assert db.url_variable(db.CATALOG_ALIAS) == "PLATFORM_DATABASE_URL"
    assert db.url_variable("platform_patient_graph") == "PLATFORM_DATABASE_URL_PATIENT_GRAPH"


def test_url_of_writes_sockets_as_a_host_parameter():
    socket = db.parse_url("postgresql://backoffice@/backoffice?host=/run/pg")
    assert db.url_of(socket) == "postgresql://backoffice@/backoffice?host=/run/pg"
    tcp = db.parse_url("postgresql://backoffice:secret@db.example:5433/backoffice")
    assert db.url_of(tcp) == "postgresql://backoffice@db.example:5433/backoffice"


def test_embedded_urls_carry_their_route_to_the_standby_and_pgbouncer():
    config = db.parse_url(embedded.readonly_url("backoffice_ro", server=embedded.REPLICA, pooled=True))
    assert (config[embedded.SERVER_KEY], config[embedded.POOLER_KEY]) == (embedded.REPLICA, True)
    assert "server" not in config["OPTIONS"] and "pooler" not in config["OPTIONS"]  # never sent to libpq
    plain = db.parse_url(embedded.readonly_url("backoffice_ro"))
    assert (plain[embedded.SERVER_KEY], plain[embedded.POOLER_KEY]) == (embedded.PRIMARY, False)


def test_a_transaction_pooler_gets_no_startup_options_no_prepared_statements_no_server_cursors():
    pooled = db.platform_databases(env_of(PLATFORM_TRANSACTION_POOLER="true"), **EMBEDDED_DEFAULTS)
    direct = db.platform_databases(env_of(), **EMBEDDED_DEFAULTS)
    for alias, config in pooled.items():
        assert "options" not in config["OPTIONS"], alias
        assert config["OPTIONS"]["prepare_threshold"] is None
        assert config["DISABLE_SERVER_SIDE_CURSORS"] is True
        assert "default_transaction_read_only=on" in direct[alias]["OPTIONS"]["options"]
        assert direct[alias]["DISABLE_SERVER_SIDE_CURSORS"] is False
    # PGBOUNCER=1 (the embedded PgBouncer) implies it unless said otherwise.
    implied = db.platform_databases(env_of(), **EMBEDDED_DEFAULTS, pooled=True)
    assert all(config["TRANSACTION_POOLER"] for config in implied.values())
