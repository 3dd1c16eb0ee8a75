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
    path("reviews/", admin.site.admin_view(views.reviews), name="reviews"),
    path("reviews/<int:pk>/", admin.site.admin_view(views.review), name="review"),
    path("reviews/<int:pk>/export.csv", admin.site.admin_view(views.review_csv), name="review_csv"),
]
