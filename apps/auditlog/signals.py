"""Receivers that turn account events into back-office audit entries."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import m2m_changed, pre_save
from django.dispatch import receiver
from django.http import HttpRequest

from apps.auditlog import events
from apps.auditlog.services import record_event
from apps.core.types import StaffUser

User = get_user_model()


@receiver(user_logged_in)
def on_login(sender: type[StaffUser], request: HttpRequest, user: StaffUser, **kwargs: Any) -> None:
    record_event(
        event_type=events.STAFF_LOGIN, actor=user, request=request, entity_type="staff", entity_id=user.pk
    )


@receiver(user_login_failed)
def on_login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    username = str(credentials.get("username", ""))[:150]
    record_event(
        event_type=events.STAFF_LOGIN_FAILED,
        actor_id=username or "unknown",
        request=request,
        entity_type="staff",
        entity_id=username,
    )


def _record_permission_change(instance: Any, action: str, model: Any, pk_set: Any, what: str) -> None:
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    names = sorted(str(o) for o in model.objects.filter(pk__in=pk_set or []))
    record_event(
        event_type=events.STAFF_GROUPS_CHANGED if what == "groups" else events.STAFF_PERMISSIONS_CHANGED,
        entity_type="group" if isinstance(instance, Group) else "staff",
        entity_id=instance.pk,
        details={"action": action.removeprefix("post_"), what: names, "target": str(instance)},
    )


@receiver(m2m_changed, sender=User.groups.through)
def on_groups_changed(
    sender: Any, instance: Any, action: str, model: Any, pk_set: Any, **kwargs: Any
) -> None:
    _record_permission_change(instance, action, model, pk_set, "groups")


@receiver(m2m_changed, sender=User.user_permissions.through)
@receiver(m2m_changed, sender=Group.permissions.through)
def on_permissions_changed(
    sender: Any, instance: Any, action: str, model: Any, pk_set: Any, **kwargs: Any
) -> None:
    _record_permission_change(instance, action, model, pk_set, "permissions")


@receiver(pre_save, sender=User)
def on_staff_flags_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    if instance.pk is None:
        return
    before = User.objects.filter(pk=instance.pk).values("is_staff", "is_superuser", "is_active").first()
    after = {k: getattr(instance, k) for k in ("is_staff", "is_superuser", "is_active")}
    if before and before != after:
        record_event(
            event_type=events.STAFF_FLAGS_CHANGED,
            entity_type="staff",
            entity_id=instance.pk,
            details={"before": before, "after": after, "target": instance.get_username()},
        )
