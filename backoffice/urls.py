from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from apps.access.views import preferences_view
from apps.core import health

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("audit/", include("apps.explorer.urls")),
    path("customers/", include("apps.customers.urls")),
    path("watch/", include("apps.watch.urls")),
    path("admin/conformance/", include("apps.conformance.urls")),
    path("admin/audit-trail/", include("apps.trail.urls")),
    path("admin/preferences/", admin.site.admin_view(preferences_view), name="preferences"),
    path("admin/palette/", include("apps.palette.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "apps.core.errors.bad_request"
handler403 = "apps.core.errors.permission_denied"
handler404 = "apps.core.errors.page_not_found"
handler500 = "apps.core.errors.server_error"
