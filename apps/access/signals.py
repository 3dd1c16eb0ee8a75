"""The access app's own changes in the back-office audit log: brand bindings added or removed."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from apps.access.models import StaffBrand
from apps.auditlog import events
from apps.auditlog.services import record_event

BRAND_EVENTS = {"added": events.STAFF_BRAND_ADDED, "changed": events.STAFF_BRAND_CHANGED,
                "removed": events.STAFF_BRAND_REMOVED}  # fmt: skip


@receiver(post_save, sender=StaffBrand)
@receiver(post_delete, sender=StaffBrand)
def on_brand_binding_changed(sender: type[StaffBrand], instance: StaffBrand, **kwargs: Any) -> None:
    if kwargs.get("signal") is post_delete:
        action = "removed"
    else:
        action = "added" if kwargs.get("created") else "changed"
    record_event(
        event_type=BRAND_EVENTS[action],
        entity_type="staff",
        entity_id=instance.user_id,
        brand_id=instance.brand_id,
        details={"brand_id": instance.brand_id, "target": str(instance.user)},
    )
