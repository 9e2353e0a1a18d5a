"""The write-only secrets of a REST service (the Basic-auth password, the signing secret), sealed with
the Fernet key ``MTM_HOOK_KEY`` kept outside the database, as the raw store and the Digest HA1 are."""

from __future__ import annotations

from functools import lru_cache
from typing import TypedDict

import orjson
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

from mtm.errors import Unavailable


class HookSecrets(TypedDict, total=False):
    password: str
    secret: str


@lru_cache(maxsize=4)
def _fernet(key: str) -> Fernet:
    return Fernet(key.encode())


def _current() -> Fernet:
    key = str(getattr(settings, "MTM_HOOK_KEY", "") or "")
    if not key:
        raise Unavailable("MTM_HOOK_KEY is not set: REST services' passwords and secrets cannot be kept.")
    return _fernet(key)


def secrets_seal(values: HookSecrets) -> bytes:
    """The sealed form of ``values`` (empty bytes when there is nothing to keep)."""
    kept = {k: v for k, v in values.items() if v}
    return _current().encrypt(orjson.dumps(kept)) if kept else b""


def secrets_open(token: bytes | memoryview | None) -> HookSecrets:
    if not token or not bytes(token):
        return {}
    try:
        opened: HookSecrets = orjson.loads(_current().decrypt(bytes(token)))
    except InvalidToken:
        raise Unavailable("REST services' secrets cannot be read with this MTM_HOOK_KEY.") from None
    return opened
