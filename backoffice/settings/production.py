"""Production: secrets and database URLs from the environment with no default; HTTPS only; 2FA.

Importing this module without DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, DATABASE_URL,
PLATFORM_DATABASE_URL or AUDIT_ANCHOR_KEY fails at once with ImproperlyConfigured naming the missing variable. It
reads the environment and never writes it, and installs neither the reference cluster nor the
stand-in (base's DEMO_APPS).
"""

from django.core.exceptions import ImproperlyConfigured

from backoffice import databases as db

from .base import *  # noqa: F403
from .base import DATABASES, LOGGING, env

DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# Never the embedded PostgreSQL: a missing URL must stop the process.
for _alias, _config in DATABASES.items():
    if db.is_embedded(_config):
        raise ImproperlyConfigured(
            f"Set {db.url_variable(_alias)}: production never falls back on the embedded PostgreSQL."
        )

# --- HTTPS and cookies -----------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# --- account security ------------------------------------------------------------------------
REQUIRE_2FA = True  # every staff login needs a TOTP code, whatever the environment says

# --- logs ------------------------------------------------------------------------------------
LOGGING["handlers"]["console"]["formatter"] = env.str("LOG_FORMAT", default="json")

# --- audit trail -----------------------------------------------------------------------------
AUDIT_ANCHOR_KEY = env.str("AUDIT_ANCHOR_KEY")  # signs the chain's anchors; no default here
