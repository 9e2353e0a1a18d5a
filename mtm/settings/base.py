"""Settings shared by every environment. Values come from :mod:`mtm.env` only."""

from __future__ import annotations

import dj_database_url

from mtm.env import BASE_DIR, ENV

DEBUG = ENV.debug
SECRET_KEY = ENV.secret_key
ALLOWED_HOSTS = ENV.allowed_hosts

INSTALLED_APPS = [
    "mtm.apps.MtmAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "import_export",
    "enumerators",
    "surveys",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # A NUL byte in a request's text (PostgreSQL cannot store one): 400 in the protocol's form, before any view.
    "mtm.middleware.NulRefusalMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The interface language (mtm.locale): the user's own setting, else the switch's cookie, else the browser's
    # Accept-Language; the APIs always in English. After the authentication, which it reads.
    "mtm.locale.LanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A domain error escaping a page's view (the admin's): 404 / 403 / 400 pages, never a 500.
    "mtm.middleware.DomainErrorMiddleware",
]

ROOT_URLCONF = "mtm.urls"
WSGI_APPLICATION = "mtm.wsgi.application"
AUTH_USER_MODEL = "enumerators.User"

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
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# Embedded default: SQLite in the data directory. DATABASE_URL switches to PostgreSQL.
DATABASES: dict[str, dict[str, object]]
if ENV.database_url:
    # A kept connection is checked before a request reuses it: after a PostgreSQL restart the first request
    # reconnects instead of failing on the dead connection.
    DATABASES = {"default": dict(dj_database_url.parse(ENV.database_url, conn_max_age=60, conn_health_checks=True))}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": ENV.data_dir / "db.sqlite3",
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
DATABASES["default"]["TEST"] = {"NAME": None}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

# Interface languages (docs/adr/0011): the project's catalogues are locale/<code>/LC_MESSAGES/django.po, compiled
# .mo files committed; Kazakh's date and number formats (Django has none) are in mtm/formats/kk.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ru", "Русский"), ("kk", "Қазақша")]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["mtm.formats"]
# Management commands' messages for people: in the shell's language (LANG=ru_RU.UTF-8), else LANGUAGE_CODE.
MTM_COMMAND_LANGUAGE = ENV.shell_language
TIME_ZONE = "Asia/Almaty"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = ENV.data_dir / "static"
# ODK Web Forms and Vue's browser build, fetched by `make install` (npm ci in webforms/, ADR 0020) and
# served as static files (WhiteNoise in production): no CDN at run time.
WEBFORMS_MODULES = BASE_DIR / "webforms" / "node_modules"
STATICFILES_DIRS = [
    ("webforms/odk", WEBFORMS_MODULES / "@getodk" / "web-forms" / "dist"),
    ("webforms/vue", WEBFORMS_MODULES / "vue" / "dist"),
]
MEDIA_ROOT = ENV.data_dir / "media"
MEDIA_URL = "media/"
# Attachments, form media and exports: the data folder, or an S3-compatible bucket (MTM_S3_BUCKET; README,
# "Several hosts") that web processes and workers on several hosts share.
STORAGES = {
    "default": ENV.default_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Request bodies read into memory (KoBo JSON posts, form fields) may be as large
# as a submission; files are streamed to disk past 2.5 MB. Collect sends up to
# 100 attachments with each part of a split upload.
DATA_UPLOAD_MAX_MEMORY_SIZE = ENV.max_submission_bytes + 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = 1000
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Domain errors (mtm.errors) answered in one place, with their HTTP status.
    "EXCEPTION_HANDLER": "surveys.api.exceptions.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
}

# The OpenAPI schema of the whole API (v1 and KoboToolbox's v2), at /api/schema/.
SPECTACULAR_SETTINGS = {
    "TITLE": "MTM Collect API",
    "DESCRIPTION": "Our own API (/api/v1/) and KoboToolbox's API v2 (/api/v2/). Token auth: "
                   "'Authorization: Token <key>' (manage.py drf_create_token USERNAME).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["surveys.api.schema.drop_format_suffixes"],
}

# Cache (remembered Basic logins, Digest nonce counts): shared Redis with the services, per-process memory
# without. Only a shortcut, used through mtm.cache: unreachable, it is a miss. Short socket timeouts, so a
# Redis that does not answer costs a request at most about a second (mtm.cache then leaves it alone a while).
if ENV.redis_url:
    CACHES = {"default": {"BACKEND": "mtm.redis_cache.RedisCache", "LOCATION": ENV.redis_url,
                          "KEY_PREFIX": ENV.cache_prefix,
                          "OPTIONS": {"socket_connect_timeout": 1.0, "socket_timeout": 1.0}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: with REDIS_URL, a real broker and workers; without, tasks run in-process.
CELERY_BROKER_URL = ENV.redis_url or "memory://localhost/"
CELERY_RESULT_BACKEND = ENV.redis_url or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = not ENV.uses_services
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = ENV.celery_queue
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "max_retries": 1}
CELERY_RESULT_EXPIRES = 3600
# Results are not needed by default: storing them costs a Redis subscription on every publish.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
CELERY_BEAT_SCHEDULE = {
    "submissions-sweep": {"task": "surveys.submissions_sweep", "schedule": ENV.sweep_seconds},
    "raw-purge": {"task": "surveys.raw_purge", "schedule": 86400.0},
    "hook-failures-report": {"task": "surveys.hook_failures_report", "schedule": 86400.0},
}
MTM_SWEEP_GRACE_SECONDS = ENV.sweep_grace_seconds
# Processing in batches (docs/adr/0018): a post marks processing due in the cache (one SET NX) and enqueues
# one task when none is due yet; the task takes whatever waits, MTM_PROCESS_BATCH at a time, for at most
# MTM_PROCESS_TASK_SECONDS, then sends itself again if more waits.
MTM_PROCESS_BATCH = ENV.process_batch
MTM_PROCESS_TASK_SECONDS = 60.0
MTM_PROCESS_DUE_SECONDS = 30

# E-mail (the REST services' daily failures report): through MTM_EMAIL_HOST, else written to the console.
EMAIL_BACKEND = ("django.core.mail.backends.smtp.EmailBackend" if ENV.email_host
                 else "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = ENV.email_host or "localhost"
EMAIL_PORT = ENV.email_port
EMAIL_HOST_USER = ENV.email_user
EMAIL_HOST_PASSWORD = ENV.email_password
EMAIL_USE_TLS = ENV.email_tls
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = ENV.email_from
SERVER_EMAIL = ENV.email_from

# REST services (KoboToolbox's hooks, docs/adr/0017): deliveries go to a queue of their own, consumed by a
# worker of its own (`make hook-worker`), so that a slow or dead receiver never holds processing. Each
# attempt waits at most MTM_HOOK_TIMEOUT_SECONDS; a failed one is tried again after each of
# MTM_HOOK_RETRY_DELAYS (seconds), then the delivery is failed (a manual retry starts the schedule again).
MTM_HOOK_QUEUE = f"{ENV.celery_queue}-hooks"
MTM_HOOK_RETRY_DELAYS = ENV.hook_retry_delays
MTM_HOOK_TIMEOUT_SECONDS = ENV.hook_timeout_seconds
# Endpoints on private (LAN) and loopback addresses: allowed by default (a field server often posts to a
# system on its own network), refused in production unless MTM_HOOK_PRIVATE_ADDRESSES=on. Link-local
# (cloud metadata), multicast and unspecified addresses are always refused; so is any scheme but http(s).
# A pending delivery overdue by this much has lost its message: the sweep sends it again (a backlog still
# waiting in the queue gets a second message at most this often; the second finds it sent and stops).
MTM_HOOK_SWEEP_AFTER_SECONDS = 3600
MTM_HOOK_PRIVATE_ADDRESSES = True if ENV.hook_private_addresses is None else ENV.hook_private_addresses
# Without a broker (tasks in-process) deliveries run on one background thread of the process ("thread"),
# never in the request that processed the interview; the test suite runs them in line ("inline").
MTM_HOOK_IN_PROCESS = "thread"

# OpenRosa
OPENROSA_REALM = ENV.openrosa_realm
# HTTP Digest for ODK Collect over plain HTTP (the demo, a field laptop on a LAN). Behind HTTPS switch it off
# (MTM_OPENROSA_DIGEST=off; production's default): Collect then sends Basic, as it does over HTTPS, and the
# challenge offers Basic only; a Digest header is refused with 401.
OPENROSA_DIGEST = True if ENV.openrosa_digest is None else ENV.openrosa_digest
OPENROSA_MAX_SUBMISSION_BYTES = ENV.max_submission_bytes
OPENROSA_DIGEST_NONCE_SECONDS = 300
OPENROSA_BASIC_CACHE_SECONDS = 120

# Password guessing (enumerators.services.logins, ADR 0010): after this many failed logins of one account
# name, or from one client address, each within a quiet window of the one before, further attempts are
# refused (OpenRosa 429, the admin's login form a message) for MTM_LOGIN_LOCKOUT_SECONDS, doubled with each
# failure after that, up to MTM_LOGIN_LOCKOUT_MAX_SECONDS. API tokens are not passwords: not counted.
MTM_LOGIN_FAILURES_PER_ACCOUNT = 5
MTM_LOGIN_FAILURES_PER_ADDRESS = 20
MTM_LOGIN_WINDOW_SECONDS = 900
MTM_LOGIN_LOCKOUT_SECONDS = 60
MTM_LOGIN_LOCKOUT_MAX_SECONDS = 3600
# ODK Central API sessions (POST /v1/sessions) last as long as Central's: 24 hours.
MTM_CENTRAL_SESSION_SECONDS = 24 * 3600
# Reverse proxies in front of the server (MTM_TRUSTED_PROXIES): the client's address is then that many
# entries from the right of X-Forwarded-For, not REMOTE_ADDR (which would be the proxy's for everyone).
MTM_TRUSTED_PROXIES = ENV.trusted_proxies

# Respondents' data. MTM_RAW_KEY (a Fernet key) encrypts the raw store;
# MTM_PSEUDONYM_KEY keys the HMAC of pseudonymised answers. Both live outside
# the database; local.py and test.py derive development keys when unset.
MTM_RAW_KEY = ENV.raw_key
MTM_PSEUDONYM_KEY = ENV.pseudonym_key
# Accounts: MTM_DIGEST_KEY (a Fernet key) seals each account's Digest HA1 (enumerators.digest), so that a
# database dump holds no password equivalent. Outside the database too; local.py and test.py derive one.
MTM_DIGEST_KEY = ENV.digest_key
# REST services: MTM_HOOK_KEY (a Fernet key) seals their Basic-auth passwords and signing secrets.
MTM_HOOK_KEY = ENV.hook_key

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        "celery.app.trace": {"level": "WARNING"},
    },
}

# django-import-export: importing needs the model's "add" permission, exporting its "view" permission
# (a supervisor exports their team's roster; only coordinators import).
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "add"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
IMPORT_EXPORT_SKIP_ADMIN_LOG = False
