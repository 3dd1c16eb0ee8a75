from django.contrib import admin
from django.urls import path

from apps.customers import views

app_name = "customers"

urlpatterns = [
    path("", admin.site.admin_view(views.search), name="search"),
    path("<str:user_id>/", admin.site.admin_view(views.detail), name="detail"),
]
