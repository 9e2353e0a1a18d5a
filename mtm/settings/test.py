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
# Commands speak the language of the test, not of the shell the suite runs in.
MTM_COMMAND_LANGUAGE = ""
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}


def _development_key(purpose: str) -> str:
    """A key derived from the secret key, for development and tests only."""
    import base64
    import hashlib

    return base64.urlsafe_b64encode(hashlib.sha256(f"{purpose}:{SECRET_KEY}".encode()).digest()).decode()


MTM_RAW_KEY = ENV.raw_key or _development_key("raw-store")
MTM_PSEUDONYM_KEY = ENV.pseudonym_key or _development_key("pseudonym")
MTM_DIGEST_KEY = ENV.digest_key or _development_key("digest-ha1")
MTM_HOOK_KEY = ENV.hook_key or _development_key("rest-hooks")
# REST services: deliveries in line (deterministic), retries after short delays.
MTM_HOOK_IN_PROCESS = "inline"
MTM_HOOK_RETRY_DELAYS = (0, 0, 0)
