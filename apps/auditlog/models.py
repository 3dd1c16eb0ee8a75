"""The back-office's own audit table: the platform's standard audit_log columns, plus the person
each event concerns (``subject_id``/``subject_ids``) and its place in a hash chain.

Append-only: a trigger rejects UPDATE and DELETE. Tamper-evident: a BEFORE INSERT trigger
(migration 0003) gives each row its chain position ``seq``, the previous row's hash
``prev_hash`` and its own ``row_hash`` (sha256 over a canonical text of the row and
``prev_hash``), under a transaction-scoped advisory lock, so writers in any number of processes
produce one chain. ``apps.trail`` verifies it and anchors its head outside the database.
"""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models

# brand_id is NOT NULL in the standard; events that concern no single brand carry this.
ALL_BRANDS = "*"
#: subject_id of an event about more people than it lists (a large export): its details keep the
#: filter, which the access report re-evaluates for the person it is built for.
MANY_SUBJECTS = "*"


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
    #: The person (identity user id) the event concerns; MANY_SUBJECTS past the bound.
    subject_id = models.TextField(blank=True, null=True)
    #: The people an event about several of them concerns (a list, an export), bounded.
    subject_ids = ArrayField(models.TextField(), blank=True, null=True)
    # Assigned by the database (trigger audit_log_chain); whatever the INSERT says is replaced.
    seq = models.BigIntegerField(blank=True, null=True, editable=False)
    prev_hash = models.TextField(blank=True, null=True, editable=False)
    row_hash = models.TextField(blank=True, null=True, editable=False)

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
            models.Index(fields=["subject_id", "occurred_at"], name="audit_log_subject_idx"),
            GinIndex(fields=["subject_ids"], name="audit_log_subjects_gin"),
        ]
        constraints = [models.UniqueConstraint(fields=["seq"], name="audit_log_seq_unique")]

    def __str__(self) -> str:
        return f"{self.event_type} by {self.actor_type}:{self.actor_id}"


class ChainHead(models.Model):
    """The chain's newest position and hash, kept by the trigger in the same transaction as the
    row: deleting the newest rows leaves the head pointing at a row that is gone."""

    id = models.SmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField()
    row_hash = models.TextField()

    class Meta:
        db_table = "audit_log_chain_head"
        verbose_name = "audit chain head"

    def __str__(self) -> str:
        return f"chain head at position {self.seq}"
