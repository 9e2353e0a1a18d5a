"""The HTTP Digest HA1 of an account, sealed.

RFC 7616's HA1 = MD5(username:realm:password) is what Digest verification
needs, and it is password-equivalent for the realm: whoever holds it can log
in. So the database never holds it in the clear: ``User.digest_ha1`` keeps a
Fernet token of it under ``MTM_DIGEST_KEY``, a key that lives outside the
database like ``MTM_RAW_KEY`` (local and test settings derive a development
key from the secret key). A dump of the database without the key reveals
nothing; verification opens the token (tens of microseconds). Without a key
(production with Digest switched off) no HA1 is kept at all.
"""

from __future__ import annotations

import hashlib
import logging
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

log = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def _fernet(key: str) -> Fernet:
    return Fernet(key.encode())


def digest_ha1(username: str, password: str, realm: str | None = None) -> str:
    """RFC 7616's HA1, in the clear: never store it, seal it (:func:`ha1_seal`)."""
    realm = realm or settings.OPENROSA_REALM
    return hashlib.md5(f"{username}:{realm}:{password}".encode()).hexdigest()  # noqa: S324 - RFC 7616 MD5


def ha1_seal(ha1: str) -> str:
    """The stored form of an HA1: a Fernet token under ``MTM_DIGEST_KEY`` ("" without a key)."""
    key = settings.MTM_DIGEST_KEY
    return _fernet(key).encrypt(ha1.encode()).decode() if key and ha1 else ""


def ha1_open(sealed: str) -> str:
    """The HA1 a stored token holds; "" when there is none or it cannot be opened with this key."""
    key = settings.MTM_DIGEST_KEY
    if not sealed or not key:
        return ""
    try:
        return _fernet(key).decrypt(sealed.encode()).decode()
    except (InvalidToken, ValueError):
        log.warning("A stored Digest HA1 cannot be opened with MTM_DIGEST_KEY: Digest refused for that account "
                    "until its password is set again (Basic still works).")
        return ""
