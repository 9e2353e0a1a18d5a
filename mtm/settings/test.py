"""The test suite: the embedded default unless DATABASE_URL / REDIS_URL are set
(`make test-services`)."""

from mtm.env import ENV
from mtm.settings.base import *  # noqa: F403
from mtm.settings.base import DATABASES

SECRET_KEY = "mtm-test-key"
DEBUG = False
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if not ENV.database_url:
    DATABASES["default"]["NAME"] = ":memory:"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
