"""The private behaviour we lean on (ARCHITECTURE.md) is checked here, so an upgrade that changes
it fails loudly instead of breaking a page."""

from __future__ import annotations

import json
import os

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ImproperlyConfigured


def test_django_admin_still_refuses_composite_keys_so_our_registry_workaround_is_needed():
    like = apps.get_model("community.Like")
    with pytest.raises(ImproperlyConfigured, match="composite primary key"):
        admin.AdminSite(name="probe").register(like)
    # Our site registered it anyway, through the one private line (AdminSite._registry).
    assert admin.site.is_registered(like)


def test_pgserver_keeps_its_handles_where_embedded_expects_them(django_db_setup):
    pgdata = settings.VAR_DIR / "pgdata"
    if not (pgdata / "PG_VERSION").exists():
        pytest.skip("the embedded server is not in use (database URLs are set)")
    handles = json.loads((pgdata / ".handle_pids.json").read_text())
    assert os.getpid() in handles
