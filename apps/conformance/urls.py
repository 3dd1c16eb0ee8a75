from django.contrib import admin
from django.urls import path

from apps.conformance import views

app_name = "conformance"

urlpatterns = [
    path("", admin.site.admin_view(views.conformance), name="index"),
]
