"""Logins: the replay guard of HTTP Digest.

Digest nonce counts are kept in the database (:class:`DigestNonceCount`), one
upsert per Digest request: it works on the embedded default, is shared by
every web process, and neither a Redis outage nor a Redis restart can make
the server forget a count and accept a replayed request.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from enumerators.models import DigestNonceCount

_COUNT_UPSERT = """
INSERT INTO {table} ({key}, {count}, {expires_at}) VALUES (%(key)s, %(count)s, %(expires_at)s)
ON CONFLICT ({key}) DO UPDATE SET {count} = excluded.{count} WHERE {table}.{count} < excluded.{count}
RETURNING {count}
"""
_PURGE = "DELETE FROM {table} WHERE {expires_at} < %(now)s"


def _sql(template: str) -> str:
    qn = connection.ops.quote_name
    return template.format(table=qn(DigestNonceCount._meta.db_table), key=qn("key"), count=qn("count"),
                           expires_at=qn("expires_at"))


def digest_nonce_count_grows(*, nonce: str, cnonce: str, nc: str) -> bool:
    """Record ``nc`` (8 hex digits) for this (nonce, cnonce) if it is above every count accepted before;
    False for a count already used (a replay) or a malformed one. One statement, atomic under
    concurrency: of two requests with the same count, exactly one is accepted."""
    if len(nc) != 8:
        return False
    try:
        count = int(nc, 16)
    except ValueError:
        return False
    now = timezone.now()
    field = DigestNonceCount._meta.get_field("expires_at")
    expires_at = field.get_db_prep_save(now + timedelta(seconds=2 * settings.OPENROSA_DIGEST_NONCE_SECONDS),
                                        connection)
    key = hashlib.sha256(f"{nonce}:{cnonce}".encode()).hexdigest()
    with connection.cursor() as cursor:
        if count == 1:
            # A new (nonce, cnonce) pair starts: the moment to drop the pairs whose nonces are stale.
            cursor.execute(_sql(_PURGE), {"now": field.get_db_prep_save(now, connection)})
        cursor.execute(_sql(_COUNT_UPSERT), {"key": key, "count": count, "expires_at": expires_at})
        return cursor.fetchone() is not None
