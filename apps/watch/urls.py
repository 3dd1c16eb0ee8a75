from django.contrib import admin
from django.urls import path

from apps.watch import views

app_name = "watch"

urlpatterns = [
    path("", admin.site.admin_view(views.inbox), name="inbox"),
    path("read/", admin.site.admin_view(views.mark_read), name="read"),
    path("searches/new/", admin.site.admin_view(views.new_search), name="new_search"),
    path("flags/", admin.site.admin_view(views.flags), name="flags"),
    path("flags/<int:pk>/dismiss/", admin.site.admin_view(views.dismiss), name="dismiss"),
]
