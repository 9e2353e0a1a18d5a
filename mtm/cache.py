"""The shared cache on the request path, degrading: a cache that cannot be
reached answers as a miss.

Redis (``REDIS_URL``) only speeds requests up here — remembered Basic
logins (:mod:`enumerators.login_cache`) — and is never where anything is
kept for good, so its outage must not cost an interview. Every use of the
cache on the request path goes through these functions: an error of the
cache backend (Redis down or restarting, a timeout) is treated as a miss —
``get`` answers the default, ``set`` and ``delete_many`` do nothing — and the
caller falls back to the database.

The outage is logged once per process when it starts and once when it ends,
not on every request. After an error the cache is not asked again for
``RETRY_SECONDS``, so a request waits on an unreachable Redis at most once
in that period per process (``CACHES`` sets short socket timeouts).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.core.cache import cache
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

#: What a cache backend raises when its server cannot be used: redis-py's errors
#: (ConnectionError, TimeoutError, …) and the OS's (refused, reset, unreachable).
CACHE_ERRORS: tuple[type[Exception], ...] = (RedisError, OSError)

#: Seconds during which a process leaves the cache alone after an error.
RETRY_SECONDS = 5.0

_lock = threading.Lock()
_state = {"down_until": 0.0, "down": False}


def _skipping() -> bool:
    return bool(_state["down"]) and time.monotonic() < float(_state["down_until"])


def _failed(error: Exception) -> None:
    with _lock:
        _state["down_until"] = time.monotonic() + RETRY_SECONDS
        if _state["down"]:
            return
        _state["down"] = True
    log.warning("The cache is unreachable (%s: %s): treated as a miss until it answers again; logins are "
                "checked against the database.", type(error).__name__, error)


def _answered() -> None:
    if not _state["down"]:
        return
    with _lock:
        if not _state["down"]:
            return
        _state["down"] = False
    log.warning("The cache answers again.")


def reset() -> None:
    """Forget an outage (between tests)."""
    with _lock:
        _state["down"], _state["down_until"] = False, 0.0


def get(key: str, default: Any = None) -> Any:
    if _skipping():
        return default
    try:
        value = cache.get(key, default)
    except CACHE_ERRORS as error:
        _failed(error)
        return default
    _answered()
    return value


def set(key: str, value: Any, timeout: float | None) -> None:
    if _skipping():
        return
    try:
        cache.set(key, value, timeout)
    except CACHE_ERRORS as error:
        _failed(error)
        return
    _answered()


def delete_many(keys: list[str]) -> None:
    if _skipping() or not keys:
        return
    try:
        cache.delete_many(keys)
    except CACHE_ERRORS as error:
        _failed(error)
        return
    _answered()
