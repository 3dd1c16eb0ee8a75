from django.contrib import admin
from django.urls import path

from apps.explorer import views

app_name = "explorer"

urlpatterns = [
    path("", admin.site.admin_view(views.index), name="index"),
    path("volume.svg", admin.site.admin_view(views.volume_view), name="volume"),
    path("export.csv", admin.site.admin_view(views.export_view), {"fmt": "csv"}, name="export_csv"),
    path("export.jsonl", admin.site.admin_view(views.export_view), {"fmt": "jsonl"}, name="export_jsonl"),
    path("request/<path:request_id>/", admin.site.admin_view(views.request_view), name="request"),
    path(
        "entity/<str:entity_type>/<path:entity_id>/", admin.site.admin_view(views.entity_view), name="entity"
    ),
    path("actor/<path:actor_id>/", admin.site.admin_view(views.actor_view), name="actor"),
]
