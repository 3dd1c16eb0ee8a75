from django.contrib import admin
from django.urls import path

from apps.customers import access_views, views

app_name = "customers"

urlpatterns = [
    path("", admin.site.admin_view(views.search), name="search"),
    path("<str:user_id>/", admin.site.admin_view(views.detail), name="detail"),
    path("<str:user_id>/accesses/", admin.site.admin_view(access_views.access_report), name="accesses"),
    path(
        "<str:user_id>/accesses/report.csv",
        admin.site.admin_view(access_views.access_report),
        {"fmt": "csv"},
        name="accesses_csv",
    ),
    path(
        "<str:user_id>/accesses/report.pdf",
        admin.site.admin_view(access_views.access_report),
        {"fmt": "pdf"},
        name="accesses_pdf",
    ),
]
