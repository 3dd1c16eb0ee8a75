"""The back-office's own audit table, with exactly the platform's standard audit_log columns.

Append-only: the migration installs a trigger that rejects UPDATE, DELETE and TRUNCATE, so the
table is a trustworthy record even against code in this repository.
"""

from __future__ import annotations

import uuid

from django.db import models

# brand_id is NOT NULL in the standard; events that concern no single brand carry this.
ALL_BRANDS = "*"


class AuditEventQuerySet(models.QuerySet):
    def for_actor(self, actor_id: str) -> AuditEventQuerySet:
        return self.filter(actor_id=actor_id)


class AuditEvent(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    occurred_at = models.DateTimeField()
    actor_type = models.TextField()
    actor_id = models.TextField()
    actor_brand_id = models.TextField(blank=True, null=True)
    event_type = models.TextField()
    entity_type = models.TextField(blank=True, null=True)
    entity_id = models.TextField(blank=True, null=True)
    brand_id = models.TextField()
    request_id = models.TextField(blank=True, null=True)
    details = models.JSONField(blank=True, null=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        db_table = "audit_log"
        verbose_name = "back-office audit event"
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["brand_id", "occurred_at", "id"], name="audit_log_brand_time_idx"),
            models.Index(fields=["actor_id", "occurred_at", "id"], name="audit_log_actor_time_idx"),
            models.Index(fields=["request_id"], name="audit_log_request_idx"),
            models.Index(fields=["entity_type", "entity_id", "occurred_at"], name="audit_log_entity_idx"),
            models.Index(fields=["occurred_at", "id"], name="audit_log_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} by {self.actor_type}:{self.actor_id}"
