"""Django settings, read from the environment.

Two modes (``PRIVETL_MODE``):

- ``embedded`` (default): SQLite under ``./var/``, a development secret key and signing key
  generated once and kept in ``./var/``, mail printed to the console. Nothing to install.
- ``production``: every secret must come from the environment; the process refuses to
  start otherwise (``ImproperlyConfigured`` naming the missing variable).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from privetl.platform.error_tracking import init_error_tracking

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PRIVETL_VAR_DIR", "var")).resolve()

MODE = os.environ.get("PRIVETL_MODE", "embedded").strip().lower()
if MODE not in {"embedded", "production"}:
    raise ImproperlyConfigured(f"PRIVETL_MODE must be 'embedded' or 'production', not {MODE!r}")
EMBEDDED = MODE == "embedded"


def _env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _require(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(
            f"{name} is not set. privetl refuses to start in production mode without it "
            f"(set PRIVETL_MODE=embedded only for local development)."
        )
    return value


def _embedded_secret(
    filename: str, make: Callable[[], str] = lambda: secrets.token_urlsafe(50)
) -> str:
    """A random development secret, generated once and kept under ./var/ (never in git)."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / filename
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


if EMBEDDED:
    SECRET_KEY = os.environ.get("PRIVETL_SECRET_KEY") or _embedded_secret("secret_key")
    DEBUG = os.environ.get("PRIVETL_DEBUG", "0") == "1"
    ALLOWED_HOSTS = _env_list("PRIVETL_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
else:
    SECRET_KEY = _require("PRIVETL_SECRET_KEY")
    if len(SECRET_KEY) < 32 or SECRET_KEY.startswith("django-insecure"):
        raise ImproperlyConfigured(
            "PRIVETL_SECRET_KEY is too weak: use at least 32 random characters."
        )
    DEBUG = False
    ALLOWED_HOSTS = _env_list("PRIVETL_ALLOWED_HOSTS")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("PRIVETL_ALLOWED_HOSTS is not set (comma-separated host names).")

HTTP_PORT = int(os.environ.get("PRIVETL_HTTP_PORT", "8000"))
GRPC_PORT = int(os.environ.get("PRIVETL_GRPC_PORT", "50051"))
GRPC_MAX_WORKERS = int(os.environ.get("PRIVETL_GRPC_WORKERS", "16"))

# --- identity -------------------------------------------------------------------------
# The platform's own token issuer signs with an HMAC key (embedded: generated in ./var/).
TOKEN_ISSUER = os.environ.get("PRIVETL_TOKEN_ISSUER", "privetl")
TOKEN_SIGNING_KEY = (
    os.environ.get("PRIVETL_TOKEN_SIGNING_KEY") or _embedded_secret("token_signing_key")
    if EMBEDDED
    else _require("PRIVETL_TOKEN_SIGNING_KEY")
)
TOKEN_AUDIENCE = os.environ.get("PRIVETL_TOKEN_AUDIENCE", "privetl")
TOKEN_TTL_SECONDS = int(os.environ.get("PRIVETL_TOKEN_TTL_SECONDS", "3600"))
# External OIDC issuers (SSO), a JSON list:
# [{"issuer": "https://sso.example.com", "audience": "privetl", "jwks_uri": "..."}]
# jwks_uri is optional: it is discovered from <issuer>/.well-known/openid-configuration.
try:
    OIDC_ISSUERS: list[dict[str, str]] = json.loads(os.environ.get("PRIVETL_OIDC_ISSUERS", "[]"))
except json.JSONDecodeError as exc:
    raise ImproperlyConfigured(f"PRIVETL_OIDC_ISSUERS is not valid JSON: {exc}") from exc
OIDC_JWKS_CACHE_SECONDS = int(os.environ.get("PRIVETL_OIDC_JWKS_CACHE_SECONDS", "300"))

# --- audit checkpoints -----------------------------------------------------------------
# `privetl audit checkpoint` signs the verified head of the audit chain with this key (a key
# the database does not hold) into one file per checkpoint in this directory; `privetl
# audit verify` checks the chain against them. Production: give the key only to the
# checkpoint job and to whoever verifies, not to the web and gRPC servers.
AUDIT_CHECKPOINT_KEY = os.environ.get("PRIVETL_AUDIT_CHECKPOINT_KEY", "").strip() or (
    _embedded_secret("audit_checkpoint_key") if EMBEDDED else ""
)
AUDIT_CHECKPOINT_DIR: Path | None = (
    Path(os.environ["PRIVETL_AUDIT_CHECKPOINT_DIR"]).resolve()
    if os.environ.get("PRIVETL_AUDIT_CHECKPOINT_DIR", "").strip()
    else (VAR_DIR / "audit-checkpoints" if EMBEDDED else None)
)

# --- connection strings ----------------------------------------------------------------
# Connection strings of the ExtDatamodule Manager are encrypted at rest with these Fernet keys
# (comma-separated, each 32 url-safe base64 bytes: `python -c "from cryptography.fernet import
# Fernet; print(Fernet.generate_key().decode())"`). The first encrypts; all of them decrypt,
# so a key is rotated by putting a new one first and running `privetl rotate-connection-key`,
# then dropping the old one. Embedded: one key generated under ./var/. Production: required
# wherever a connection string is encrypted or decrypted (the first use names the variable
# in an ImproperlyConfigured), so processes that never touch one need not hold the keys.
CONNECTION_KEYS: list[str] = _env_list("PRIVETL_CONNECTION_KEYS") or (
    [
        _embedded_secret(
            "connection_key", lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        )
    ]
    if EMBEDDED
    else []
)

# --- apps -----------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "privetl.platform",
    "privetl.audit",
    "privetl.users",
    "privetl.datamodules",
    "privetl.scripts",
    "privetl.tasks",
    "privetl.data",
    "privetl.runs",
    "django_q",
    "django_htmx",
    "csp",
]

MIDDLEWARE = [
    "privetl.platform.metrics.PrometheusMiddleware",
    "privetl.platform.request_guard.NulRefusingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
]

# Content-Security-Policy (django-csp) on every response: scripts and styles only from the
# platform's own /static/ (htmx from django-htmx, the stylesheet from privetl/platform/static),
# no inline script or style anywhere, no framing, forms post back to the platform only. The
# API docs pages (Swagger UI, ReDoc) need an inline bootstrap script and are exempted in urls.py.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# The web UI's session and CSRF cookies travel over HTTPS only outside the embedded default.
SESSION_COOKIE_SECURE = not EMBEDDED
CSRF_COOKIE_SECURE = not EMBEDDED
SESSION_COOKIE_HTTPONLY = True
# A UI session ends after this many seconds (a working day by default); signing in again starts a new one.
SESSION_COOKIE_AGE = int(os.environ.get("PRIVETL_SESSION_SECONDS", str(8 * 3600)))
LOGIN_URL = "/ui/login/"

ROOT_URLCONF = "privetl.config.urls"
WSGI_APPLICATION = "privetl.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

# --- database -------------------------------------------------------------------------
_default_db = f"sqlite:///{VAR_DIR / 'privetl.sqlite3'}"
DATABASE_URL = os.environ.get("DATABASE_URL", _default_db)
if DATABASE_URL.startswith("sqlite"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and (
    os.environ.get("PRIVETL_DB_POOL", "1") != "0"
):
    # psycopg 3 pool (not in `privetl worker`, which forks: a pool's connections and
    # threads do not survive a fork, so each worker process opens its own connections): gRPC worker threads and gunicorn workers share warm connections.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": int(os.environ.get("PRIVETL_DB_POOL_MIN", "2")),
        "max_size": int(os.environ.get("PRIVETL_DB_POOL_MAX", "20")),
        "timeout": 10,
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Persistent per-thread connections: opening SQLite and running the pragmas on every
    # gRPC call cost more than the call itself. close_old_connections() still drops broken ones.
    DATABASES["default"]["CONN_MAX_AGE"] = None
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # WAL + a busy timeout: concurrent writers queue instead of failing at once;
            # IMMEDIATE makes each write transaction take the write lock up front.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
# Two roles on PostgreSQL (docs/audit.md): DATABASE_URL is the runtime role the platform
# serves as; DATABASE_OWNER_URL, set only where `privetl migrate` runs, is the role owning
# the tables. `privetl migrate` then runs as the owner and grants the runtime role its
# privileges. Unset: one URL does both (SQLite, development).
DATABASE_OWNER_URL = os.environ.get("DATABASE_OWNER_URL", "").strip()
if DATABASE_OWNER_URL:
    _owner = dj_database_url.parse(DATABASE_OWNER_URL, conn_max_age=0)
    _same = ("ENGINE", "NAME", "HOST", "PORT")
    if any(_owner.get(k) != DATABASES["default"].get(k) for k in _same):
        raise ImproperlyConfigured(
            "DATABASE_OWNER_URL must name the same database (engine, host, port, name) as "
            "DATABASE_URL, with the owner role instead of the runtime role"
        )
    _owner["TEST"] = {"MIRROR": "default"}
    DATABASES["owner"] = _owner
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- runs -----------------------------------------------------------------------------
# Runs execute in django-q2 workers (`privetl worker`, a django-q2 cluster) whose broker is
# this database (the ORM broker): nothing to install on the embedded default, any number of
# workers on any number of machines against PostgreSQL, and a run is queued in the same
# transaction that records it (docs/runs.md says why this library).
RUN_WORK_DIR = Path(os.environ.get("PRIVETL_RUN_WORK_DIR", str(VAR_DIR / "runs"))).resolve()
"""Each run's work directory (stage checkpoints, the outbox's Parquet) is RUN_WORK_DIR/<run id>;
shared storage when workers run on several machines."""
RUN_LEASE_SECONDS = float(os.environ.get("PRIVETL_RUN_LEASE_SECONDS", "30"))
"""A worker renews its run's lease every third of this; a lease expired means a dead worker.
Such runs are recovered by the workers' scheduled recovery (django-q2's scheduler: once a
minute, checked every 30 s) and when a worker starts: so within this plus 90 seconds."""
RUN_MAX_ATTEMPTS = int(os.environ.get("PRIVETL_RUN_MAX_ATTEMPTS", "3"))
"""A run whose workers died this many times fails with that reason."""
RUN_ENGINE = os.environ.get("PRIVETL_RUN_ENGINE", "duckdb")
RUN_ANONYMIZATION_SECRET: str | None = os.environ.get("PRIVETL_ANONYMIZATION_SECRET") or (
    _embedded_secret("anonymization_secret") if EMBEDDED else None
)
"""The key of the keyed hashes and noise of platform runs (the engine's PRIVETL_ANONYMIZATION_SECRET):
without it a production run is not reproducible, and its report says so."""
RUN_MEMORY_LIMIT = os.environ.get("PRIVETL_RUN_MEMORY_LIMIT") or None
OUTBOX_RETENTION_DAYS = float(os.environ.get("PRIVETL_OUTBOX_RETENTION_DAYS", "7"))
"""Outbox entries not uploaded within this many days are deleted (state EXPIRED)."""
Q_CLUSTER = {
    "name": "privetl",
    "orm": "default",
    "workers": int(os.environ.get("PRIVETL_WORKER_PROCESSES", "2")),
    # One queued job executes one run until it pauses, awaits upload, ends or is stopped;
    # a run outlives any sensible timeout, so the lease (not django-q's timeout) tells a dead
    # worker, and `retry` (redelivery of an unacknowledged job) only backs it up.
    "timeout": int(os.environ.get("PRIVETL_RUN_TIMEOUT_SECONDS", str(24 * 3600))),
    "retry": int(os.environ.get("PRIVETL_RUN_TIMEOUT_SECONDS", str(24 * 3600))) + 60,
    "max_attempts": 1,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 1000,
    "poll": float(os.environ.get("PRIVETL_WORKER_POLL_SECONDS", "0.5")),
    "bulk": 1,
    "recycle": 50,
    "label": "privetl runs",
}

# --- i18n / static --------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

# --- mail -----------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = os.environ.get("PRIVETL_MAIL_FROM", "privetl@localhost")
EMAIL_HOST = os.environ.get("PRIVETL_SMTP_HOST", "")
EMAIL_PORT = int(os.environ.get("PRIVETL_SMTP_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("PRIVETL_SMTP_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("PRIVETL_SMTP_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("PRIVETL_SMTP_TLS", "0") == "1"
EMAIL_TIMEOUT = 10
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
elif EMBEDDED:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
else:
    raise ImproperlyConfigured("PRIVETL_SMTP_HOST is not set: owners could not be notified.")

# --- REST -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["privetl.platform.rest.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "EXCEPTION_HANDLER": "privetl.platform.rest.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["privetl.platform.parsers.BoundedJSONParser"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "privetl API",
    "DESCRIPTION": (
        "REST door of the privetl services. Every method mirrors a gRPC method of the "
        "contracts in proto/; errors use the same codes (400/401/403/404/409)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One name for a choice set used by several fields (a role in, the roles out).
    "ENUM_NAME_OVERRIDES": {
        "RolesEnum": "privetl.users.api.ROLE_CHOICES",
        "TaskStateEnum": "privetl.tasks.api.STATES",
        "RunStateEnum": "privetl.runs.api.RUN_STATES",
        "OutboxEntryStateEnum": "privetl.data.api.STATES",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "privetl.platform.openapi.document_platform_answers",
        "privetl.platform.openapi.blank_as_any_of",
    ],
}

# gRPC servicers to register: dotted paths of ``register(server)`` functions.
GRPC_SERVICERS = [
    "privetl.users.grpc.register",
    "privetl.datamodules.grpc.register",
    "privetl.audit.grpc.register",
    "privetl.scripts.grpc.register",
    # the ETL Task Manager with its run controls (privetl.runs.grpc extends privetl.tasks.grpc)
    "privetl.runs.grpc.register",
    # the Data Manager with its run history (privetl.runs.grpc extends privetl.data.grpc)
    "privetl.runs.grpc.register_data_manager",
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("PRIVETL_LOG_LEVEL", "INFO")},
}

# --- error tracking --------------------------------------------------------------------
# Sentry, only when SENTRY_DSN is set, secrets scrubbed (docs/monitoring.md). Started here
# because every Django-backed process reads these settings first: the web server's workers,
# the gRPC server, `serve`, the run worker and every platform command of the CLI.
ERROR_TRACKING = init_error_tracking()
