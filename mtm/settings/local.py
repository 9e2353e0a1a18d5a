"""Developer's machine and `make demo`: debug on, a fixed insecure key if none is set."""

from mtm.env import ENV
from mtm.settings.base import *  # noqa: F403

DEBUG = True if not ENV.secret_key else ENV.debug
SECRET_KEY = ENV.secret_key or "mtm-local-development-key-not-for-production"
ALLOWED_HOSTS = ["*"]


def _development_key(purpose: str) -> str:
    """A key derived from the secret key, for development and tests only."""
    import base64
    import hashlib

    return base64.urlsafe_b64encode(hashlib.sha256(f"{purpose}:{SECRET_KEY}".encode()).digest()).decode()


MTM_RAW_KEY = ENV.raw_key or _development_key("raw-store")
MTM_PSEUDONYM_KEY = ENV.pseudonym_key or _development_key("pseudonym")
MTM_DIGEST_KEY = ENV.digest_key or _development_key("digest-ha1")
MTM_HOOK_KEY = ENV.hook_key or _development_key("rest-hooks")
