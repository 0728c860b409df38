"""Tributary settings: everything comes from the environment (see .env.example).

With no DATABASE_URL and no REDIS_URL Tributary runs embedded: SQLite, an in-process Celery
worker on the in-memory transport and the in-memory channel layer, all in one process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dotenv import load_dotenv
from kombu import Queue

from config.env import (
    database_from_url,
    env_bool,
    env_int,
    env_list,
    env_networks,
    env_path,
    env_queue_names,
    env_queue_routes,
    env_str,
    otlp_traces_endpoint,
    redis_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
# A local .env fills in what the real environment does not set; the environment always wins.
load_dotenv(BASE_DIR / ".env", override=False)

DATA_DIR = env_path("TRIBUTARY_DATA_DIR", BASE_DIR / "var")
DATA_DIR.mkdir(parents=True, exist_ok=True)
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", required=True)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# The address people and webhook senders use to reach this server; used to show full URLs.
# Empty: each page shows the address it was requested at (right for `serve --port N` and a
# LAN address; set it behind a proxy that rewrites the host or scheme).
PUBLIC_URL = env_str("TRIBUTARY_PUBLIC_URL", "").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_htmx",
    "designer",
    "runtime",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "config.asgi.application"

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
                "runtime.sandbox.warning.banner",  # says loudly when code runs unsandboxed
            ],
            # The pages' tag libraries live with the pages (runtime/http), not in an app's
            # templatetags/ folder.
            "libraries": {"charts": "runtime.http.charts", "runs": "runtime.http.run_tags"},
        },
    },
]

# --- Database ---------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "tributary.sqlite3",
            "OPTIONS": {
                # The embedded web server, worker and scheduler share one file from several
                # threads: WAL lets readers run beside the writer, IMMEDIATE takes the write
                # lock up front so two writers queue instead of failing with "locked".
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Broker, worker, channel layer -----------------------------------------------------
REDIS_URL = redis_url()
# Embedded: one process runs the web server, a Celery worker thread and the scheduler.
EMBEDDED = not REDIS_URL

CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND: str | None = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A message is acknowledged only when its task returns, and a worker child that dies
# (SIGKILL, OOM) makes the broker redeliver the message instead of acking it
# (celery#1628). Every task is safe to run twice: steps are claimed with a conditional UPDATE.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One message per worker child at a time: with the default of 4 a short step can sit behind
# a long one in another child's prefetch buffer.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes the database connection before and after every task unless
# DB_REUSE_MAX is set: a new PostgreSQL backend per step (~5 ms, the largest part of a
# step's overhead). Keep connections and let config/celery.py retire them the way Django
# does for requests (CONN_MAX_AGE, CONN_HEALTH_CHECKS).
CELERY_DB_REUSE_MAX = 1_000_000
if REDIS_URL:
    # Redis hands an unacknowledged message to another worker after the visibility timeout
    # (kombu#337). Make it longer than the longest step may run (timeout_seconds <= 1 h),
    # so a slow step is not delivered twice; a worker that really died is detected sooner
    # by its expired lease in Postgres. No task carries an ETA: waits live in Postgres.
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, float] = {"visibility_timeout": 2 * 3600}
    # kombu's Redis transport, minus a crash on connection loss (see runtime/engine/broker.py).
    CELERY_BROKER_TRANSPORT = "runtime.engine.broker:Transport"
else:
    # The in-memory transport polls its queues (1 s by default): poll fast enough that a
    # step waits milliseconds, not a second, for the embedded worker to notice it.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"polling_interval": 0.005}
# Threads of the embedded worker (ignored by separate `celery worker` processes).
TRIBUTARY_EMBEDDED_CONCURRENCY = env_int("TRIBUTARY_EMBEDDED_CONCURRENCY", 4, minimum=1)

# Queues by kind of work (runtime/engine/queues.py; README, "Queues and worker pools"): a
# step's task goes to "light" (transform, branch, the bookkeeping of delays, waits, loops and
# calls), "io" (HTTP, email, SQL, queue publish) or "compute" (code and container functions),
# so each can have a worker pool of its own. TRIBUTARY_QUEUE_ROUTES moves kinds
# ("code.python=reports,http.request=io"); TRIBUTARY_QUEUES adds queues a flow or a step may
# name in its settings. A worker started without -Q serves every one of them.
TRIBUTARY_QUEUE_ROUTES = env_queue_routes("TRIBUTARY_QUEUE_ROUTES")
_DECLARED_QUEUES = env_queue_names("TRIBUTARY_QUEUES")
TRIBUTARY_QUEUE_NAMES = list(
    dict.fromkeys(["light", "io", "compute", *TRIBUTARY_QUEUE_ROUTES.values(), *_DECLARED_QUEUES])
)
# Put before every queue's name on the broker: two installations can share one Redis.
TRIBUTARY_QUEUE_PREFIX = env_str("TRIBUTARY_QUEUE_PREFIX", "")


def celery_routing(prefix: str) -> tuple[list[Queue], str, dict[str, dict[str, str]]]:
    """CELERY_TASK_QUEUES, _DEFAULT_QUEUE and _ROUTES with every queue's name on the broker
    after ``prefix`` (the benchmark's settings give one of their own). The engine's
    housekeeping tasks (cancel children, start replays...) are light work; sending an
    approval's mail and pulling an image wait on the network."""
    network = ("runtime.tasks.approval_mail", "runtime.images.tasks.pull_image")
    return (
        [Queue(prefix + name) for name in TRIBUTARY_QUEUE_NAMES],
        prefix + "light",
        {name: {"queue": prefix + "io"} for name in network},
    )


CELERY_TASK_QUEUES, CELERY_TASK_DEFAULT_QUEUE, CELERY_TASK_ROUTES = celery_routing(
    TRIBUTARY_QUEUE_PREFIX
)

CHANNEL_LAYERS: dict[str, dict[str, Any]]
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py 8 gives every read a 5 s socket timeout, exactly the 5 s that
                # channels_redis blocks in BZPOPMIN while waiting for a message: a socket
                # idle for 5 s then failed its consumer and was closed. Reads get longer.
                "hosts": [{"address": REDIS_URL, "socket_timeout": 30}],
                # The default capacity of 100 silently drops bursts; pages re-sync from the
                # database on (re)connect, but most of the time they should not have to.
                "capacity": 5000,
                "expiry": 30,
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# The cache holds webhook rate-limit counters: shared by every process through Redis when
# scaled out, per process in the embedded default.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "tributary",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth ---------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "designer:flow-list"
LOGOUT_REDIRECT_URL = "login"

# --- API ----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header turns "not logged in" into a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["designer.api_parsers.SafeJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "designer.api_schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "designer.api_errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tributary API",
    "DESCRIPTION": "Flows, immutable versions, runs and triggers.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Runs, steps and webhook listening each have a "status"; a node's "type" is a kind.
    "ENUM_NAME_OVERRIDES": {
        "RunStatusEnum": "runtime.engine.status.RunStatus",
        "StepStatusEnum": "runtime.engine.status.StepStatus",
        "ListenStatusEnum": "runtime.http.shapes.LISTEN_STATES",
        "NodeTypeEnum": "designer.serializers.NODE_TYPES",
        "ImageStatusEnum": "runtime.models.images.ContainerImage.Status",
    },
}

# --- Internationalisation ---------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# In development the bundle is rebuilt in place; let whitenoise find it without collectstatic.
WHITENOISE_USE_FINDERS = DEBUG
if DEBUG:
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

# --- Email ----------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Tributary <tributary@localhost>")

# --- Security -----------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = PUBLIC_URL.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"

# --- Tributary ------------------------------------------------------------------------------
# Fernet keys that encrypt workspace secrets; comma-separated to rotate (the first encrypts).
TRIBUTARY_SECRETS_KEYS = env_list("TRIBUTARY_SECRETS_KEY", [])
# A running step's lease: renewed by heartbeats; once expired, another worker takes over.
TRIBUTARY_STEP_LEASE_SECONDS = env_int("TRIBUTARY_STEP_LEASE_SECONDS", 15, minimum=2)
# A queued step whose message has not been picked up for this long is sent again (a broker
# restart or flush loses messages; Postgres still knows the step is queued).
TRIBUTARY_REQUEUE_AFTER_SECONDS = env_int("TRIBUTARY_REQUEUE_AFTER_SECONDS", 60, minimum=1)
# A pure step (transform, branch) whose only parent just finished runs in that parent's
# task instead of waiting for a message of its own (runtime/engine/inline.py).
TRIBUTARY_INLINE_PURE_STEPS = env_bool("TRIBUTARY_INLINE_PURE_STEPS", True)
# Give up on a step whose worker vanished this many times (a step that kills its worker).
TRIBUTARY_MAX_LOST_WORKERS = env_int("TRIBUTARY_MAX_LOST_WORKERS", 3, minimum=1)
# How deep flows may call flows (flow.call, for-each bodies): a child run beyond it fails the
# step that asked for it, naming the call chain, instead of recursing without end.
TRIBUTARY_MAX_CALL_DEPTH = env_int("TRIBUTARY_MAX_CALL_DEPTH", 10, minimum=1)
# A platform event is kept this long for a "wait for event" step whose run reaches the wait
# a little after the event was emitted (0: only waits already paused receive it).
TRIBUTARY_EVENT_WINDOW_SECONDS = env_int("TRIBUTARY_EVENT_WINDOW_SECONDS", 300, minimum=0)
# Largest step output and run input stored, in bytes.
TRIBUTARY_MAX_OUTPUT_BYTES = env_int("TRIBUTARY_MAX_OUTPUT_BYTES", 1024 * 1024, minimum=1024)
TRIBUTARY_MAX_LOG_BYTES = env_int("TRIBUTARY_MAX_LOG_BYTES", 256 * 1024, minimum=1024)
# Templates and conditions are bounded (README, "Templates"): the largest number (in digits)
# and the longest value or output (in characters) one may build, and how long one may run;
# a save, or a step's rendering, shares one budget. By default a template can hold two of
# the largest values a run stores.
TRIBUTARY_TEMPLATE_MAX_DIGITS = env_int("TRIBUTARY_TEMPLATE_MAX_DIGITS", 4300, minimum=10)
TRIBUTARY_TEMPLATE_MAX_CHARS = env_int(
    "TRIBUTARY_TEMPLATE_MAX_CHARS", 2 * TRIBUTARY_MAX_OUTPUT_BYTES, minimum=1000
)
TRIBUTARY_TEMPLATE_TIME_BUDGET_MS = env_int("TRIBUTARY_TEMPLATE_TIME_BUDGET_MS", 1000, minimum=10)
# http.request refuses private, loopback and link-local destinations (SSRF) except these
# networks, e.g. 10.0.0.0/8 for an internal API.
TRIBUTARY_HTTP_ALLOWED_NETWORKS = env_networks("TRIBUTARY_HTTP_ALLOWED_NETWORKS")
# Database-change triggers may watch tables in these schemas only (never Tributary's own
# tables, whatever the schema).
TRIBUTARY_DBCHANGE_SCHEMAS = env_list("TRIBUTARY_DBCHANGE_SCHEMAS", ["public"])
# "Test connection" (database and broker connections) gives up after this many seconds.
TRIBUTARY_CONNECTION_TEST_TIMEOUT = env_int("TRIBUTARY_CONNECTION_TEST_TIMEOUT", 5, minimum=1)
# A webhook body that stops arriving for this long is answered 408.
TRIBUTARY_WEBHOOK_BODY_TIMEOUT_SECONDS = env_int(
    "TRIBUTARY_WEBHOOK_BODY_TIMEOUT_SECONDS", 10, minimum=1
)
# Code steps run in an OS sandbox (runtime/sandbox/README.md). Without bubblewrap they run
# with the remaining layers only; outside DEBUG the server refuses that unless overridden.
TRIBUTARY_CODE_REQUIRE_SANDBOX = env_bool("TRIBUTARY_CODE_REQUIRE_SANDBOX", not DEBUG)
TRIBUTARY_CODE_RUNNER_DIR = env_path("TRIBUTARY_CODE_RUNNER_DIR", DATA_DIR / "runner")
# Packages code steps may import, installed by `manage.py install_code_packages`.
TRIBUTARY_CODE_PYTHON_PACKAGES = env_list("TRIBUTARY_CODE_PYTHON_PACKAGES", [])
TRIBUTARY_CODE_NPM_PACKAGES = env_list("TRIBUTARY_CODE_NPM_PACKAGES", [])
TRIBUTARY_CODE_NODE_POOL_SIZE = env_int("TRIBUTARY_CODE_NODE_POOL_SIZE", 2, minimum=0)
TRIBUTARY_CODE_BWRAP = env_str("TRIBUTARY_CODE_BWRAP", "/usr/bin/bwrap")
TRIBUTARY_CODE_PYTHON = env_str("TRIBUTARY_CODE_PYTHON", "/usr/bin/python3")
TRIBUTARY_CODE_NODE = env_str("TRIBUTARY_CODE_NODE", "/usr/bin/node")
# Container-image steps (runtime/sandbox/container.py): each worker machine unpacks the
# images it runs here, keyed by digest, and removes the least recently used beyond the size.
TRIBUTARY_IMAGE_CACHE_DIR = env_path("TRIBUTARY_IMAGE_CACHE_DIR", DATA_DIR / "images")
TRIBUTARY_IMAGE_CACHE_MB = env_int("TRIBUTARY_IMAGE_CACHE_MB", 4096, minimum=1)
# A static busybox sets an image's limits inside its sandbox (Debian: busybox-static).
TRIBUTARY_CONTAINER_BUSYBOX = env_str("TRIBUTARY_CONTAINER_BUSYBOX", "/bin/busybox")
# /metrics: scrapers send "Authorization: Bearer <token>"; without a token only local
# addresses may read it.
TRIBUTARY_METRICS_TOKEN = env_str("TRIBUTARY_METRICS_TOKEN")
# Traces (runtime/tracing): on when the standard OTLP endpoint variables are set, so every
# process of a deployment agrees. The SDK reads the other OTEL_* variables (headers,
# sampler, service name, batch sizes) itself.
TRIBUTARY_OTLP_TRACES_ENDPOINT = otlp_traces_endpoint(
    traces=env_str("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
    base=env_str("OTEL_EXPORTER_OTLP_ENDPOINT"),
    disabled=env_bool("OTEL_SDK_DISABLED", False),
)
# Runs older than this many days are deleted by the scheduler (0 keeps them forever).
TRIBUTARY_RUN_RETENTION_DAYS = env_int("TRIBUTARY_RUN_RETENTION_DAYS", 30, minimum=0)
# Load the "New order -> email the customer" example the first time the server is set up.
TRIBUTARY_LOAD_EXAMPLE = env_bool("TRIBUTARY_LOAD_EXAMPLE", True)
# Graph limits: checked on every save, so a bad import cannot store a monster.
TRIBUTARY_MAX_NODES = env_int("TRIBUTARY_MAX_NODES", 500, minimum=1)
TRIBUTARY_MAX_GRAPH_BYTES = env_int("TRIBUTARY_MAX_GRAPH_BYTES", 1024 * 1024, minimum=1024)
# Room for a 1 MiB graph plus its JSON envelope; larger API bodies are refused with 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = TRIBUTARY_MAX_GRAPH_BYTES + 256 * 1024

# Container images (runtime/images): registries reached over plain HTTP instead of TLS
# (host:port, e.g. a registry on the local network), the largest image or image archive
# accepted, and how long pulling one from a registry may take.
TRIBUTARY_IMAGE_INSECURE_REGISTRIES = env_list("TRIBUTARY_IMAGE_INSECURE_REGISTRIES", [])
TRIBUTARY_IMAGE_MAX_MB = env_int("TRIBUTARY_IMAGE_MAX_MB", 2048, minimum=1)
TRIBUTARY_IMAGE_PULL_TIMEOUT_SECONDS = env_int(
    "TRIBUTARY_IMAGE_PULL_TIMEOUT_SECONDS", 600, minimum=10
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
