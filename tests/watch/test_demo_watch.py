"""The demo's compliance dashboard shows live flags from seeded behaviour."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from apps.console.demo import create_demo_staff, seed_watch_demo
from apps.watch.models import AccessFlag, AlertRule

pytestmark = pytest.mark.django_db(databases="__all__")


def test_demo_seed_raises_flags_for_the_night_owl_only_and_once():
    create_demo_staff()
    assert seed_watch_demo() == 3
    assert seed_watch_demo() == 0  # a second demo run seeds and raises nothing again
    night = get_user_model().objects.get(username="night-owl")
    assert set(AccessFlag.objects.values_list("actor_id", flat=True)) == {str(night.pk)}
    assert AlertRule.objects.count() == 2
    client = Client()
    client.force_login(get_user_model().objects.get(username="compliance"))
    html = client.get(reverse("admin:index")).content.decode()
    assert "Open access flags</a>: 3" in html
