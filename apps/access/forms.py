from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django_otp import devices_for_user
from django_otp.admin import OTPAdminAuthenticationForm

from apps.core.formatting import time_zone_names
from apps.core.types import StaffUser


class RevealForm(forms.Form):
    reason = forms.CharField(
        label="Why do you need to see this record's protected fields?",
        min_length=10,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "autofocus": True}),
        help_text="Recorded with your name in the audit log and reviewed by compliance.",
    )


class TwoFactorLoginForm(OTPAdminAuthenticationForm):  # type: ignore[misc]  # django-otp ships no types
    """The login form when REQUIRE_2FA is on: username, password and code, checked together.

    django-otp's own form confirms the password first (it then asks for the device and code),
    which tells whoever typed it that the password was right. Here every failure, whichever
    factor it was, is the same error, and one with the right password but a wrong or missing code
    is a failed login like any other (``user_login_failed``: audit-logged, counted by axes).
    The code is checked against the chosen device, or each of the user's confirmed devices.
    """

    cleaned_data: dict[str, Any]  # Django's AuthenticationForm's, which the untyped base hides

    error_messages = {
        **OTPAdminAuthenticationForm.error_messages,
        "invalid_login": "Please enter the correct %(username)s, password and authenticator code for a staff "
        "account. Note that the username and password may be case-sensitive.",
    }

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        token = self.cleaned_data.get("otp_token") or ""
        self.user_cache = None
        if username is None or not password:
            return self.cleaned_data  # the field errors say what is missing
        # A wrong password sends user_login_failed from authenticate() itself.
        user = authenticate(self.request, username=username, password=password)
        if user is not None and not self._second_factor(user, token.strip()):
            user_login_failed.send(
                sender=type(self), credentials={"username": username}, request=self.request
            )
            user = None
        if user is None:
            raise self.get_invalid_login_error()
        self.confirm_login_allowed(user)
        self.user_cache = user
        return self.cleaned_data

    def _second_factor(self, user: StaffUser, token: str) -> bool:
        if not token:
            return False
        chosen = self._chosen_device(user)
        devices = [chosen] if chosen is not None else list(devices_for_user(user, confirmed=True))
        with transaction.atomic():  # verify_token records throttling and drift on the device
            for device in devices:
                allowed, _ = device.verify_is_allowed()
                if allowed and device.verify_token(token):
                    # django-otp marks the session verified at login; the attribute is its own.
                    user.otp_device = device  # type: ignore[attr-defined]
                    return True
        return False


class PreferencesForm(forms.Form):
    """A staff member's own preferences: for now their time zone, an IANA name such as
    ``Europe/London``, checked against the zones this system knows."""

    time_zone = forms.CharField(
        label="Time zone",
        max_length=64,
        help_text="Pages show times in this zone, with UTC on hover; exports stay in UTC. "
        "An IANA name such as Europe/London, America/New_York or Asia/Tokyo.",
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off", "spellcheck": "false"}),
    )

    def clean_time_zone(self) -> str:
        name = self.cleaned_data["time_zone"].strip()
        known = {zone.lower(): zone for zone in time_zone_names()}
        if name.lower() not in known:
            raise forms.ValidationError(
                "“%(name)s” is not a time zone this system knows. Use an IANA name such as "
                "Europe/London or Asia/Tokyo (pick one from the list).",
                code="unknown_time_zone",
                params={"name": name[:64]},
            )
        return known[name.lower()]
