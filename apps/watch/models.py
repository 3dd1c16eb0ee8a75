"""Saved searches, alert rules with their watermarks, the alerts they raise, and access flags."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

#: The smallest uuid: a watermark (t, MIN_ID) stands before every event at t.
MIN_ID = uuid.UUID(int=0)


class SavedSearch(models.Model):
    """An audit-explorer filter with a name: private to its owner, or shared with one role."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_searches"
    )
    name = models.CharField(max_length=200)
    params = models.JSONField(default=dict)  # AuditQuery.as_params(): what parse_query reads back
    shared_role = models.CharField(max_length=50, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "saved searches"

    def __str__(self) -> str:
        return self.name


class AlertRule(models.Model):
    class Kind(models.TextChoices):
        ANY = "any", "any new matching event"
        THRESHOLD = "threshold", "more than N matching events in T"

    class GroupBy(models.TextChoices):
        ACTOR = "actor", "actor"
        BRAND = "brand", "brand"
        ENTITY = "entity", "entity"

    search = models.ForeignKey(SavedSearch, on_delete=models.CASCADE, related_name="rules")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.ANY)
    threshold = models.PositiveIntegerField(default=0)  # fires when the count exceeds it
    window_minutes = models.PositiveIntegerField(default=60)
    group_by = models.CharField(max_length=20, choices=GroupBy.choices, default=GroupBy.ACTOR)
    email = models.BooleanField(default=True)
    webhook_url = models.URLField(blank=True, default="")
    active = models.BooleanField(default=True)
    # Every event at or before (watermark_at, watermark_id) has been evaluated, never to be read again.
    watermark_at = models.DateTimeField()
    watermark_id = models.UUIDField(default=MIN_ID)
    evaluated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        if self.kind == self.Kind.ANY:
            return f"{self.search}: any new event"
        return f"{self.search}: more than {self.threshold} in {self.window_minutes} min by {self.group_by}"


class RuleHit(models.Model):
    """A matching event still inside a threshold rule's window (pruned as the window moves)."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="hits")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    group_key = models.TextField()
    occurred_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["rule", "recipient", "group_key", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.rule_id}/{self.group_key}@{self.occurred_at:%Y-%m-%d %H:%M:%S}"


class Alert(models.Model):
    """One rule firing for one recipient: their inbox entry, and what email and webhook carry."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alerts")
    created_at = models.DateTimeField(auto_now_add=True)
    group_key = models.TextField(blank=True, default="")
    count = models.PositiveIntegerField(default=1)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    # The event of an "any" alert (its source schema and id): the uniqueness that makes it fire once.
    event_source = models.CharField(max_length=50, blank=True, default="")
    event_id = models.UUIDField(null=True, blank=True)
    explorer_params = models.JSONField(default=dict)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    webhook_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "recipient", "event_source", "event_id"],
                condition=models.Q(event_id__isnull=False),
                name="watch_alert_once_per_event",
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule}: {self.count} event(s)"


class AccessFlag(models.Model):
    """An access anomaly about one staff member, with the events that show it."""

    class Kind(models.TextChoices):
        ABOVE_BASELINE = "above_baseline", "PHI access far above own baseline"
        NO_CONTEXT = "no_context", "PHI access with no support context"
        OFF_HOURS = "off_hours", "access outside working hours"
        LARGE_EXPORT = "large_export", "large or repeated exports"
        MANY_REVEALERS = "many_revealers", "one person revealed by many staff"

    kind = models.CharField(max_length=30, choices=Kind.choices)
    actor_id = models.TextField()  # the staff member (for many_revealers: the revealed record)
    key = models.TextField()  # what makes the flag unique within its kind (so a rerun raises nothing new)
    summary = models.TextField()
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    explorer_params = models.JSONField(default=dict)  # the evidence: an explorer filter
    created_at = models.DateTimeField(auto_now_add=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dismiss_reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="watch_flag_once")]

    def __str__(self) -> str:
        return self.summary


class AnomalyWatermark(models.Model):
    """How far the anomaly scan has read the back-office audit log."""

    name = models.CharField(max_length=50, unique=True)
    position_at = models.DateTimeField()
    position_id = models.UUIDField(default=MIN_ID)

    def __str__(self) -> str:
        return f"{self.name} at {self.position_at:%Y-%m-%d %H:%M:%S}"


class ReviewCycle(models.Model):
    """An access review: every staff member's grants, as they stood when the cycle started."""

    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(auto_now_add=True)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return self.name


class ReviewItem(models.Model):
    """One grant of one staff member in a cycle, with its last use and the reviewer's decision."""

    class Kind(models.TextChoices):
        SUPERUSER = "superuser", "superuser"
        ROLE = "role", "role"
        BRAND = "brand", "brand"
        PLATFORM_WIDE = "platform_wide", "platform-wide grant"

    class Decision(models.TextChoices):
        PENDING = "pending", "pending"
        CONFIRMED = "confirmed", "confirmed"
        REVOKED = "revoked", "revoked"

    cycle = models.ForeignKey(ReviewCycle, on_delete=models.CASCADE, related_name="items")
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    value = models.TextField(blank=True, default="")  # the role or brand
    last_used_at = models.DateTimeField(null=True, blank=True)
    decision = models.CharField(max_length=20, choices=Decision.choices, default=Decision.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["staff__username", "kind", "value"]

    def __str__(self) -> str:
        return f"{self.staff}: {self.get_kind_display()} {self.value}".strip()


class StreamWatermark(models.Model):
    """How far one sink has been delivered one source (our audit log by time and id; alerts by id)."""

    sink = models.CharField(max_length=50)
    source = models.CharField(max_length=20)
    position_at = models.DateTimeField(null=True, blank=True)
    position_id = models.UUIDField(default=MIN_ID)
    position_pk = models.BigIntegerField(default=0)
    delivered = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sink", "source"], name="watch_stream_once")]

    def __str__(self) -> str:
        return f"{self.sink}/{self.source}"
