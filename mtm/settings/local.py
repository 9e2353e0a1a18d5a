"""Developer's machine and `make demo`: debug on, a fixed insecure key if none is set."""

from mtm.env import ENV
from mtm.settings.base import *  # noqa: F403

DEBUG = True if not ENV.secret_key else ENV.debug
SECRET_KEY = ENV.secret_key or "mtm-local-development-key-not-for-production"
ALLOWED_HOSTS = ["*"]
