"""Checkpoints of the platform's audit logs, kept in our own database.

One row per schema and closed time window: how many audit rows the window held and a digest of
them, both computed in the platform database, plus the rows' compact digests (``rows``: for each
row in (occurred_at, id) order, its 16-byte id and the first 8 bytes of the sha256 of its
canonical text, 24 bytes a row), so a later verification can name the rows that changed,
appeared or disappeared, not only the window.
"""

from __future__ import annotations

from django.db import models


class Checkpoint(models.Model):
    schema = models.CharField(max_length=63)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    row_count = models.BigIntegerField()
    digest = models.CharField(max_length=64)  # hex sha256 of ``rows``
    rows = models.BinaryField()
    taken_at = models.DateTimeField()

    class Meta:
        ordering = ["schema", "window_start"]
        constraints = [
            models.UniqueConstraint(fields=["schema", "window_start"], name="trail_checkpoint_window_unique")
        ]

    def __str__(self) -> str:
        return f"{self.schema} {self.window_start:%Y-%m-%d %H:%M}: {self.row_count} rows"
