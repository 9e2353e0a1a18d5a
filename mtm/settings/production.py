"""Production: every secret from the environment, PostgreSQL and Redis required."""

from django.core.exceptions import ImproperlyConfigured

from mtm.env import ENV
from mtm.settings.base import *  # noqa: F403

if not ENV.secret_key:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production")
if not ENV.raw_key or not ENV.pseudonym_key:
    raise ImproperlyConfigured("MTM_RAW_KEY and MTM_PSEUDONYM_KEY must be set in production")
if ENV.openrosa_digest and not ENV.digest_key:
    raise ImproperlyConfigured("MTM_DIGEST_KEY must be set in production when MTM_OPENROSA_DIGEST is on")
if not ENV.database_url or not ENV.redis_url:
    raise ImproperlyConfigured("DATABASE_URL and REDIS_URL must be set in production")

DEBUG = False
# The collected static files (admin CSS/JS) from the application itself: production needs no separate
# static server (a reverse proxy may still cache them). Development serves them with runserver.
MIDDLEWARE = [*MIDDLEWARE[:1], "whitenoise.middleware.WhiteNoiseMiddleware", *MIDDLEWARE[1:]]  # noqa: F405
# Collected files with content hashes in their names, compressed; WhiteNoise serves them with
# far-future cache headers (`make serve` runs collectstatic first).
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# Production is served over HTTPS, where ODK Collect uses Basic: Digest (and its stored HA1) only if asked for.
OPENROSA_DIGEST = bool(ENV.openrosa_digest)
# REST services: without MTM_HOOK_KEY a hook with a password or signing secret cannot be saved (503).
# They post to public addresses only, unless MTM_HOOK_PRIVATE_ADDRESSES=on (a LAN system).
MTM_HOOK_PRIVATE_ADDRESSES = bool(ENV.hook_private_addresses)
