from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("audit/", include("apps.explorer.urls")),
    path("admin/conformance/", include("apps.conformance.urls")),
    path("admin/", admin.site.urls),
]
