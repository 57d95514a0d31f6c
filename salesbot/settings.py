"""Settings come from the environment so one codebase runs embedded (SQLite + ORM broker)
or at scale (PostgreSQL + Redis) without edits."""

import importlib.util
import os
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from salesbot import llm_tables

BASE_DIR = Path(__file__).resolve().parent.parent
# Local state (the default SQLite file, bench data; collected static files with PRODUCTION=1). Made by
# whatever writes there first (e.g. salesbot.sqlite_backend at the first connection), never on import.
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
# Production hardening (below; `manage.py check --deploy` is clean with PRODUCTION=1 and a real SECRET_KEY).
# Off by default so `make run` works over plain http on loopback.
PRODUCTION = env.bool("PRODUCTION", default=False)
if PRODUCTION:
    # The development defaults below are public (a key in the repository, loopback hosts): refuse them.
    _needed = {
        "SECRET_KEY": "a long random string, e.g. from python -c 'import secrets; print(secrets.token_urlsafe(50))'",
        "ALLOWED_HOSTS": "the host names the site answers to, comma-separated",
        "FIELD_ENCRYPTION_KEYS": "the Fernet key(s) creators' credentials are encrypted with, newest first, "
        "e.g. from python -c 'from cryptography.fernet import Fernet; "
        "print(Fernet.generate_key().decode())'",
    }
    _missing = [name for name in _needed if not os.environ.get(name, "").strip(" ,")]
    if _missing:
        raise ImproperlyConfigured(
            f"PRODUCTION=1 needs {' and '.join(_missing)} set in the environment ("
            + "; ".join(f"{name}: {_needed[name]}" for name in _missing)
            + ")"
        )
SECRET_KEY = env("SECRET_KEY", default="dev-insecure-change-me-" + "x" * 40)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
# Creators' API keys and webhook secrets are encrypted at rest (models_registry.encryption): Fernet keys,
# newest first (it encrypts; all decrypt). Unset outside production: a development key is made once in
# FIELD_ENCRYPTION_KEY_FILE (when first needed, not on import) and reused.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
FIELD_ENCRYPTION_KEY_FILE = env("FIELD_ENCRYPTION_KEY_FILE", default=str(VAR_DIR / "field-encryption.key"))

INSTALLED_APPS = [
    # Before staticfiles: runserver with DEBUG on leaves static files to WhiteNoise too, as in production.
    "whitenoise.runserver_nostatic",
    "salesbot.admin_site.AdminConfig",  # django.contrib.admin on salesbot's one site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "simple_history",
    "axes",  # failed logins counted, locked out per user and per address
    "django_otp",  # two-factor: TOTP (authenticator apps) and recovery codes
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    "models_registry",
    "fans",
    "learning",
    "team",
    "salesbot",
    "salesbot.campaigns",
]
# The simulators and fakes (top-level `sim/`) are a development app: present in a checkout (make run,
# tests, bench), absent from an installed package.
if importlib.util.find_spec("sim") is not None:
    INSTALLED_APPS.append("sim")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # Content-Security-Policy on admin (inbox included), lockout pages too
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files (see STATIC_URL)
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): passed two-factor
    "salesbot.two_factor.TwoFactorMiddleware",  # idle sessions end; two-factor where required
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",  # who changed a creator's settings
    "axes.middleware.AxesMiddleware",  # a locked-out login gets the lockout page (429)
]

# Admin pages (the inbox included) run only the project's own script files: no inline script or handler, no
# other origin, so a fan's text rendered into the live inbox can never run as code. Styles may be inline
# (templates and the server-rendered SVG charts use style attributes). The API (JSON, the docs page) and
# static files are left out.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/api/", "/static/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- the staff door (salesbot.two_factor, salesbot.security) ----------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out user or address before the password check
    "django.contrib.auth.backends.ModelBackend",
]
# Failed logins (a wrong password or a wrong two-factor code) lock the username, and separately the address,
# after LOGIN_FAILURE_LIMIT tries, for LOGIN_LOCKOUT_MINUTES or until a manager lifts it (admin → Locked logins).
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=30))
AXES_RESET_ON_SUCCESS = True
# Behind this many trusted proxies the client's address is read from X-Forwarded-For (salesbot.security):
# without it every login would come from the proxy, and ten typos would lock out the whole team.
PROXY_HOPS = env.int("PROXY_HOPS", default=1 if PRODUCTION else 0)
AXES_CLIENT_IP_CALLABLE = "salesbot.security.client_address"
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
AXES_VERBOSE = False
# Two-factor (TOTP + recovery codes) is required for: managers (and superusers) | everyone | off.
TWO_FACTOR_REQUIRED = env("TWO_FACTOR_REQUIRED", default="managers")
if TWO_FACTOR_REQUIRED not in ("managers", "everyone", "off"):
    raise ImproperlyConfigured("TWO_FACTOR_REQUIRED is one of managers, everyone, off")
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default="salesbot")
# A session with no activity for this long ends (the inbox's background poll is not activity); at most
# SESSION_MAX_HOURS after the login in any case.
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=60)
SESSION_COOKIE_AGE = env.int("SESSION_MAX_HOURS", default=12) * 3600

ROOT_URLCONF = "salesbot.urls"
WSGI_APPLICATION = "salesbot.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'salesbot.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's backend, plus: the file's directory (var/ for the default) is made at the first connection.
    DATABASES["default"]["ENGINE"] = "salesbot.sqlite_backend"
    # WAL, a busy timeout and IMMEDIATE transactions let the web server and the qcluster share one
    # file: a writer waits for the lock at BEGIN instead of failing with 'database is locked' mid-way.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
# Persistent connections on both back-ends: opening a SQLite file (WAL pragmas) or a PostgreSQL session
# per request cost more than the webhook's own work; health checks drop a connection that went bad.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=300))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
# The agency's time zone: every page shows times and reads "today" in it; everything is stored in UTC.
TIME_ZONE = env("AGENCY_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# Static files (admin, DRF, the API docs page's Swagger UI) are served by WhiteNoise from the web process
# itself, under runserver (`make run`) and gunicorn alike, whatever DEBUG says.
STATIC_URL = "static/"
if PRODUCTION:
    # Collected at deploy time (`manage.py collectstatic --noinput`; `check --deploy` says when it was not):
    # hashed names cached for ever, gzip-compressed copies served to clients that take them.
    STATIC_ROOT = Path(env("STATIC_ROOT", default=str(VAR_DIR / "static")))
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    WHITENOISE_USE_FINDERS = False
else:
    # Development, tests and benchmarks: served straight from the installed apps, so nothing needs
    # collecting (STATIC_ROOT only if asked for). Looked up when asked for rather than listed when the
    # middleware starts (~10 ms, paid by every test client) and edits show at once; production does not.
    STATIC_ROOT = env("STATIC_ROOT", default=None)
    WHITENOISE_USE_FINDERS = True
    WHITENOISE_AUTOREFRESH = True

REDIS_URL = env("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    # Sessions read from Redis, written through to the database: every staff request, and every poll of every
    # open live-inbox tab, skips a query. (Without Redis each web process would keep its own stale copy.)
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# The live inbox's rendered rows (salesbot.inbox.live), shared by every tab of a person: in Redis at scale (every
# web process and machine), else in each web process (make run serves from one).
if REDIS_URL:
    CACHES["inbox"] = {**CACHES["default"], "KEY_PREFIX": "inbox"}
else:
    CACHES["inbox"] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "inbox"}

Q_CLUSTER = {
    "name": env("Q_CLUSTER_NAME", default="salesbot"),
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": 120,
    "retry": 180,
    "max_attempts": 5,
    "ack_failures": True,
    "catch_up": False,
    # Successes are not stored: with a limit, django-q2's monitor loads every stored success (250 by default)
    # under a row lock to prune one, for each task — 16% of the qcluster's CPU at 16 replies/s on PostgreSQL.
    # Failures are still stored (admin: Django Q2 → Failed tasks); the work itself is in our own tables.
    "save_limit": -1,
    "poll": 0.2,
    "sync": env.bool("Q_SYNC", default=False),
    "label": "Django Q2",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "salesbot.api.authentication.ExpiringTokenAuthentication",
        "salesbot.api.authentication.VerifiedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["salesbot.api.permissions.CreatorReader"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # every refusal is {"error": …, "field": …} with a 4xx (salesbot.api.errors)
    "EXCEPTION_HANDLER": "salesbot.api.errors.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "salesbot API",
    "DESCRIPTION": "Ops API and signed platform webhooks.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Like every ops endpoint, the schema and its docs page need staff (a token, or an admin session).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAdminUser"],
    # Docs page assets come from the installed sidecar package: the page works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Staff API tokens expire this many days after they are made (0: never); an expired token answers 401.
API_TOKEN_DAYS = env.int("API_TOKEN_DAYS", default=90)

# How long aggregated learning stats are reused before being recomputed (docs/learning.md#the-statistics).
LEARNING_STATS_CACHE_SECONDS = env.int("LEARNING_STATS_CACHE_SECONDS", default=300)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},
        "anthropic": {"level": "WARNING"},
        "django.server": {"level": env("ACCESS_LOG_LEVEL", default="WARNING")},
        "django-q": {"level": env("Q_LOG_LEVEL", default="WARNING")},
    },
}

# LLM (Claude via the anthropic SDK). No key → the LLM rows of the router are decided by rules.
ANTHROPIC_API_KEY = env("ANTHROPIC_API_KEY", default="")
ANTHROPIC_BASE_URL = env("ANTHROPIC_BASE_URL", default="") or None
# A queue item's worst case (LLM_TIMEOUT_S × (LLM_MAX_RETRIES + 1) + PLATFORM_TIMEOUT_S) must stay well
# inside the task timeout (Q_CLUSTER["timeout"]); `manage.py check` says so when it does not.
LLM_TIMEOUT_S = env.float("LLM_TIMEOUT_S", default=20.0)
LLM_MAX_RETRIES = env.int("LLM_MAX_RETRIES", default=1)
LLM_MAX_OUTPUT_TOKENS = env.int("LLM_MAX_OUTPUT_TOKENS", default=400)
LLM_PROMPT_TOKEN_LIMIT = env.int("LLM_PROMPT_TOKEN_LIMIT", default=15000)
# The model takes a fan the rules have no fresh line for only while its calls stay under this share of
# a creator's decisions over the last day (docs/architecture.md#the-models-call).
LLM_MAX_SHARE = env.float("LLM_MAX_SHARE", default=0.2)
# USD per million tokens (input, output, 5-minute cache write, cache read) by model id, dated, with their source;
# and each model's minimum cacheable prefix (the fake Claude applies the same table): salesbot/llm_tables.py.
LLM_PRICES = llm_tables.PRICES
LLM_PRICES_AS_OF = llm_tables.PRICES_AS_OF
LLM_CACHE_MIN_TOKENS = llm_tables.CACHE_MIN_TOKENS
# The creator's part of the prompt (instructions, playbook, vault, [STATS]) is rebuilt at most this often, so
# every call in between sends the same bytes and reads them from the model's prompt cache (5-minute TTL).
LLM_PREFIX_TTL_S = env.int("LLM_PREFIX_TTL_S", default=240)

# One attempt per platform call; a failed send is retried by the queue after PLATFORM_BACKOFF_S × 4^(n-1)
# (capped at 5 minutes; the platform's Retry-After when it gives one), up to SEND_MAX_ATTEMPTS. The timeout
# is the provider SDK's (60 s): a slower send's outcome is unknown, so its retry (same key) waits at least
# PLATFORM_UNKNOWN_RETRY_S × 2^(n-1) for the first request to finish (else the provider answers 409);
# 0: ten times PLATFORM_BACKOFF_S (5 s).
PLATFORM_TIMEOUT_S = env.float("PLATFORM_TIMEOUT_S", default=60.0)
PLATFORM_BACKOFF_S = env.float("PLATFORM_BACKOFF_S", default=0.5)
PLATFORM_UNKNOWN_RETRY_S = env.float("PLATFORM_UNKNOWN_RETRY_S", default=0.0)
# OnlyFansAPI.com's banned-words screen on every send (strict_ban | risky | replace_soften; empty: off).
OFAPI_BLOCK_BANNED_WORDS = env("OFAPI_BLOCK_BANNED_WORDS", default="strict_ban")
# The admin's onboarding form offers the simple contract (what the fakes speak) only with DEBUG or this on.
ONBOARDING_SIMPLE_PROVIDER = env.bool("ONBOARDING_SIMPLE_PROVIDER", default=False)
SEND_MAX_ATTEMPTS = env.int("SEND_MAX_ATTEMPTS", default=8)
# How long a worker holds a fan; a dead worker's fan is taken again after it.
WORKER_LEASE_S = env.float("WORKER_LEASE_S", default=180.0)
# GET /metrics (Prometheus) answers only with `Authorization: Bearer <METRICS_TOKEN>`; unset: /metrics is off.
METRICS_TOKEN = env("METRICS_TOKEN", default="")

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

# The creator history (team.audit) is read-only: no "revert to this version" in admin.
SIMPLE_HISTORY_REVERT_DISABLED = True
