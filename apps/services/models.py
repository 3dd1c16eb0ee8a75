from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from apps.services.actions import ACTIONS


class ActionRequest(models.Model):
    """One staff action on a platform record, from request through approval to the service's answer."""

    class Status(models.TextChoices):
        PENDING_APPROVAL = "pending_approval", "waiting for a second person"
        REJECTED = "rejected", "rejected"
        SENDING = "sending", "sending"
        SUCCEEDED = "succeeded", "done"
        FAILED = "failed", "failed"

    action = models.CharField(max_length=64)
    model_label = models.CharField(max_length=100)
    object_pk = models.CharField(max_length=200)
    brand_id = models.CharField(max_length=100)
    params = models.JSONField(default=dict)  # the confirmed form, minus the reason
    reason = models.TextField()
    idempotency_key = models.UUIDField(unique=True, default=uuid.uuid4)
    status = models.CharField(max_length=20, choices=Status.choices)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", null=True, blank=True
    )
    amount_cents = models.BigIntegerField(null=True, blank=True)
    request_id = models.CharField(max_length=128, blank=True)  # the X-Request-Id last sent
    response = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"], name="action_request_status_idx")]
        permissions = [
            *((f"run_{a.name}", f"Can {a.label.lower()} ({a.service})") for a in ACTIONS),
            ("approve_money_actions", "Can approve another person's refund or ledger adjustment"),
        ]

    def __str__(self) -> str:
        return f"{self.action} on {self.model_label} {self.object_pk} ({self.get_status_display()})"

    @property
    def approved(self) -> bool:
        """A second person approved it (``decided_by`` of a request that was not rejected)."""
        return self.decided_by_id is not None and self.status != self.Status.REJECTED
