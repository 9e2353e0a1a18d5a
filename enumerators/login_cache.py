"""Remembered Basic logins.

ODK Collect sends Basic credentials with every request; checking them runs
the password hasher (PBKDF2, about 0.3 s here), which would cap the server at
a few requests a second. A verified (username, password) pair is remembered
in the cache, under an HMAC of the pair, for ``OPENROSA_BASIC_CACHE_SECONDS``.
Any save of the account (password change, deactivation, rename) forgets all
its remembered logins at once.

The cache is only a shortcut: through :mod:`mtm.cache`, an unreachable Redis
is a miss (the password is checked against the database) and a forget that
cannot reach it is skipped — a login remembered before the outage then lasts
at most its ``OPENROSA_BASIC_CACHE_SECONDS``.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from typing import TYPE_CHECKING

from django.conf import settings

from mtm import cache

if TYPE_CHECKING:
    from enumerators.models import User

#: A per-process copy in front of the shared cache: most requests then need no
#: round trip at all. It holds an entry for at most LOCAL_SECONDS, which bounds
#: how long another process may go on accepting a password changed elsewhere.
LOCAL_SECONDS = 10
_local: dict[str, tuple[float, User]] = {}
_local_lock = threading.Lock()
_ALL = "basic-keys:all"


def _key(credentials: str) -> str:
    return "basic-ok:" + hmac.new(settings.SECRET_KEY.encode(), credentials.encode(), hashlib.sha256).hexdigest()


def recall(credentials: str) -> User | None:
    """The account a remembered ``username:password`` pair belongs to, or None."""
    key = _key(credentials)
    hit = _local.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    user: User | None = cache.get(key)
    if user is not None:
        with _local_lock:
            if len(_local) > 10_000:
                _local.clear()
            _local[key] = (time.monotonic() + LOCAL_SECONDS, user)
    return user


def remember(credentials: str, user: User) -> None:
    key, index = _key(credentials), f"basic-keys:{user.pk}"
    timeout = settings.OPENROSA_BASIC_CACHE_SECONDS
    cache.set(key, user, timeout)
    cache.set(index, [*cache.get(index, [])[-9:], key], timeout)
    cache.set(_ALL, [*cache.get(_ALL, [])[-9999:], key], timeout)


def forget_all() -> None:
    """Forget every remembered login (after a security incident, or between tests)."""
    cache.delete_many([*cache.get(_ALL, []), _ALL])
    with _local_lock:
        _local.clear()


def forget(user_pk: int) -> None:
    index = f"basic-keys:{user_pk}"
    keys: list[str] = cache.get(index, [])
    cache.delete_many([*keys, index])
    with _local_lock:
        for key in keys:
            _local.pop(key, None)
