from django.contrib import admin
from django.urls import path

from apps.palette import views

app_name = "palette"

urlpatterns = [
    path("", admin.site.admin_view(views.palette), name="lookup"),
]
