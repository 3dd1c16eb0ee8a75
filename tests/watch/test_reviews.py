"""Access reviews: grants with their last use, confirm or revoke (effective on the next request), CSV."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from django.urls import reverse

from apps.auditlog.models import AuditEvent
from apps.watch.models import ReviewItem

pytestmark = pytest.mark.django_db(databases="__all__")


def test_revoking_a_brand_in_a_review_takes_effect_on_the_next_request(make_staff, cluster_admin):
    admin = make_staff("superuser")
    manager = make_staff("brand_manager", brands=("capri", "loop"))
    kind = f"order.review_probe_{uuid.uuid4().hex[:8]}"
    cluster_admin.execute(
        "INSERT INTO commerce.audit_log (id, occurred_at, actor_type, actor_id, event_type, brand_id) "
        "VALUES (%s, now(), 'user', 'x', %s, 'loop')",
        [uuid.uuid4(), kind],
    )
    cluster_admin.commit()
    explorer = reverse("explorer:index") + f"?event_type={kind}"
    assert f"<code>{kind}</code>" in manager.get(explorer).content.decode()

    response = admin.post(reverse("watch:reviews"), {"name": "Q4 review"})
    cycle_url = response["Location"]
    page = admin.get(cycle_url).content.decode()
    assert manager.user.username in page and "never" in page
    loop = ReviewItem.objects.get(staff=manager.user, kind="brand", value="loop")
    capri = ReviewItem.objects.get(staff=manager.user, kind="brand", value="capri")
    admin.post(cycle_url, {"item": loop.pk, "decision": "revoke"})
    admin.post(cycle_url, {"item": capri.pk, "decision": "confirm"})

    assert f"<code>{kind}</code>" not in manager.get(explorer).content.decode()  # the very next request
    assert AuditEvent.objects.filter(event_type="watch.review_revoked", entity_id=str(loop.pk)).exists()
    rows = list(csv.reader(io.StringIO(admin.get(cycle_url + "export.csv").content.decode())))
    mine = {(r[1], r[2]): r for r in rows[1:] if r[0] == manager.user.username}
    assert mine[("brand", "loop")][5] == "revoked" and mine[("brand", "capri")][5] == "confirmed"
    assert mine[("brand", "loop")][4] == "yes"  # never used: unused 90 days


def test_a_reviewer_cannot_decide_on_their_own_grants_and_only_superusers_review(make_staff):
    admin = make_staff("superuser")
    admin.post(reverse("watch:reviews"), {"name": "self"})
    own = ReviewItem.objects.get(staff=admin.user, kind="superuser")
    cycle_url = reverse("watch:review", args=[own.cycle_id])
    admin.post(cycle_url, {"item": own.pk, "decision": "revoke"})
    own.refresh_from_db()
    assert own.decision == "pending"
    admin.user.refresh_from_db()
    assert admin.user.is_superuser
    assert make_staff("compliance").get(reverse("watch:reviews")).status_code == 403


def test_dashboard_shows_the_review_cycles_progress(make_staff):
    admin = make_staff("superuser")
    make_staff("support")
    admin.post(reverse("watch:reviews"), {"name": "Q4 review"})
    item = ReviewItem.objects.exclude(staff=admin.user).first()
    admin.post(reverse("watch:review", args=[item.cycle_id]), {"item": item.pk, "decision": "confirm"})
    total = ReviewItem.objects.filter(cycle_id=item.cycle_id).count()
    html = admin.get(reverse("admin:index")).content.decode()
    assert f"Q4 review</a>: 1 of {total} grants decided" in html
