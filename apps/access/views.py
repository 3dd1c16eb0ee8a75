"""The staff member's own Preferences page (their time zone): a thin view over
apps.access.forms.PreferencesForm and apps.access.preferences."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from apps.access import preferences
from apps.access.forms import PreferencesForm
from apps.core.formatting import time_zone_names
from apps.core.types import StaffRequest


def preferences_view(request: StaffRequest) -> HttpResponse:
    """GET shows the form with the current zone; POST stores a known zone, or answers 400 with
    what to fix."""
    current = preferences.time_zone_name(request.user)
    form = PreferencesForm(request.POST or None, initial={"time_zone": current})
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data["time_zone"]
        preferences.set_time_zone(user=request.user, time_zone=chosen)
        messages.success(request, f"Times are now shown in {chosen}, with UTC on hover.")
        return redirect("preferences")
    context = {
        **admin.site.each_context(request),
        "title": "Preferences",
        "form": form,
        "current": current,
        "time_zones": time_zone_names(),
    }
    return TemplateResponse(request, "access/preferences.html", context, status=400 if form.errors else 200)
