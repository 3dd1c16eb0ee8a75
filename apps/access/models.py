from __future__ import annotations

from django.conf import settings
from django.db import models


class StaffBrand(models.Model):
    """Binds a staff account to one brand. A staff member with none sees no platform row, unless
    granted platform-wide visibility explicitly (``access.view_all_brands``)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="staff_brands")
    brand_id = models.TextField(help_text="An id from platform.brands, e.g. capri.")
    assigned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "brand_id"], name="staff_brand_unique")]
        verbose_name = "staff brand binding"

    def __str__(self) -> str:
        return f"{self.user} \N{RIGHTWARDS ARROW} {self.brand_id}"


class PhiReveal(models.Model):
    """A time-boxed permission, with its written reason, to see one record's protected fields."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="phi_reveals")
    model_label = models.TextField()  # "clinical.Biomarker"
    object_pk = models.TextField()
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["user", "model_label", "object_pk", "expires_at"], name="phi_reveal_lookup")
        ]
        permissions = [
            ("reveal_phi", "Can reveal protected health information with a reason"),
            ("view_contact", "Can see customers' contact details (email, phone, address)"),
            ("export_records", "Can export records and audit events"),
            ("view_backoffice_audit", "Can review the back-office audit log"),
            ("view_access_reports", "Can build a customer's access report (who saw their data)"),
            (
                "view_all_brands",
                "Platform-wide: sees every brand's records (never implied by having no brand)",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} revealed {self.model_label} {self.object_pk}"


class StaffPreference(models.Model):
    """How one staff member reads the back-office: their time zone (times are stored and
    exported in UTC; pages show them in this zone, with UTC on hover)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, models.CASCADE, related_name="preference")
    time_zone = models.CharField(
        max_length=64, default="UTC", help_text="An IANA time zone name, e.g. Europe/London."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "staff preference"

    def __str__(self) -> str:
        return f"{self.user}: {self.time_zone}"
