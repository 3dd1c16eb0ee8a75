from django.contrib import admin

from apps.comms import models
from apps.console.admin import PlatformModelAdmin


@admin.register(models.Suppression)
class SuppressionAdmin(PlatformModelAdmin):
    list_display_fields = ("id", "address", "channel", "reason", "created_by", "brand_id", "created_at")
    natural_key_fields = ("address",)
