"""Production settings refuse to start without their secrets and pass Django's deploy checks."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings

from backoffice.databases import CATALOG_ALIAS


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def url_of(alias: str) -> str:
    config = settings.DATABASES[alias]
    return f"postgresql://{config['USER']}@/{config['NAME']}?host={config['HOST']}"


@pytest.fixture
def production_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "PLATFORM_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="backoffice.settings.production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="backoffice.example.com",
        DATABASE_URL=url_of("default"),
        PLATFORM_DATABASE_URL=url_of(CATALOG_ALIAS),
    )
    return env


def test_production_settings_pass_the_deploy_checks(production_env):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL"])
def test_production_settings_refuse_to_start_without_their_secrets(production_env, missing):
    del production_env[missing]
    result = manage("check", env=production_env)
    assert result.returncode != 0
    assert missing in result.stderr
    assert "ImproperlyConfigured" in result.stderr
