"""What ``/healthz`` reports: each dependency, probed directly (not through
:mod:`mtm.cache`, which would hide an outage), with short timeouts.

A submission is answered once it is stored: that needs the database and the
raw store's key, and nothing else. Redis — the cache of remembered logins
and, with ``REDIS_URL``, Celery's broker — only makes things faster or
later: without it logins are checked against the database and submissions
wait, stored, for the sweep. So the server is ``down`` (503) only when it
cannot store, and ``degraded`` (200) when only Redis is unreachable.
"""

from __future__ import annotations

from typing import Literal, TypedDict

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from mtm.cache import CACHE_ERRORS

Probe = Literal["ok", "unreachable", "unreadable"]
#: A probe's timeout, in seconds.
TIMEOUT = 1.0


class Health(TypedDict, total=False):
    status: Literal["ok", "degraded", "down"]
    database: Probe
    raw_store_key: Probe
    cache: Probe
    broker: Probe


def database_probe() -> Probe:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - any failure means "not ok"
        return "unreachable"
    return "ok"


def raw_store_key_probe() -> Probe:
    """The raw store's key seals and opens (a missing or malformed ``MTM_RAW_KEY`` cannot)."""
    from surveys.services.raw_store import raw_open, raw_seal

    try:
        ok = raw_open(raw_seal(b"healthz")) == b"healthz"
    except Exception:  # noqa: BLE001 - any failure means "not ok"
        return "unreadable"
    return "ok" if ok else "unreadable"


def cache_probe() -> Probe:
    try:
        cache.get("healthz")
    except CACHE_ERRORS:
        return "unreachable"
    return "ok"


def broker_probe(url: str) -> Probe:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT, socket_timeout=TIMEOUT).ping()
    except CACHE_ERRORS:
        return "unreachable"
    return "ok"


def health() -> tuple[Health, int]:
    """Every dependency's state, the overall status and the HTTP status to answer with."""
    report: Health = {"database": database_probe(), "raw_store_key": raw_store_key_probe(), "cache": cache_probe()}
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        report["broker"] = broker_probe(settings.CELERY_BROKER_URL)
    if report["database"] != "ok" or report["raw_store_key"] != "ok":
        return {"status": "down", **report}, 503
    degraded = any(state != "ok" for state in report.values())
    return {"status": "degraded" if degraded else "ok", **report}, 200
