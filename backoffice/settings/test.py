"""Test settings: only what makes the suite fast, isolated and deterministic.

The suite never touches a real platform: it builds a fresh reference cluster database
(``test_<name>``) on the REFCLUSTER_ADMIN_URL server (the embedded one by default, started by the
first connection, not by these settings) and points every platform alias at it, logging in with
the same read-only roles production uses.
"""

import os
import tempfile
from pathlib import Path

from backoffice import embedded
from backoffice.databases import behind_pooler, parse_url

from .base import *  # noqa: F403
from .base import DATABASES, DEMO_APPS, INSTALLED_APPS, REFCLUSTER_ADMIN_URL

SECRET_KEY = "test-only-secret-key"  # noqa: S105
AUDIT_ANCHOR_KEY = "test-only-anchor-key"
# Anchors of one test session, never a developer's: tests that anchor point this at their tmp_path.
AUDIT_ANCHOR_DIR = Path(tempfile.gettempdir()) / f"backoffice-test-anchors-{os.getpid()}"
DEBUG = False
INSTALLED_APPS = INSTALLED_APPS + DEMO_APPS
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# No collectstatic in tests: serve static files unhashed.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Every page that fans out does so in the suite, as in production with a pool (apps.core.fanout);
# tests/core/test_fanout.py compares it with PLATFORM_FANOUT_WORKERS=1, role by role.
PLATFORM_FANOUT_WORKERS = 8

REFCLUSTER_ADMIN_URL = REFCLUSTER_ADMIN_URL or embedded.ADMIN_URL
_cluster = parse_url(REFCLUSTER_ADMIN_URL)
TEST_CLUSTER_NAME = f"test_{_cluster['NAME']}"
for _config in DATABASES.values():
    if "PLATFORM_SCHEMA" in _config:
        _config.update(
            ENGINE=_cluster["ENGINE"], NAME=TEST_CLUSTER_NAME, HOST=_cluster["HOST"], PORT=_cluster["PORT"]
        )
        # Straight to the primary, whatever PLATFORM_REPLICA/PGBOUNCER say: tests that need the
        # standby or PgBouncer route there themselves (tests/replica).
        _config.update({k: v for k, v in _cluster.items() if k.startswith("EMBEDDED_")})
        behind_pooler(_config, False)
        # A test holds one transaction per alias from its first query to its end (pytest-django),
        # which production never does: a long test (the leak hunt walks every page as one viewer)
        # must not lose an alias it has not used for the read-only roles' 60 idle seconds.
        _options = _config["OPTIONS"]
        _options["options"] = (
            _options.get("options", "") + " -c idle_in_transaction_session_timeout=600s"
        ).strip()
