from django.contrib import admin
from django.urls import path

from apps.trail import views

app_name = "trail"

urlpatterns = [
    path("", admin.site.admin_view(views.trail), name="index"),
]
