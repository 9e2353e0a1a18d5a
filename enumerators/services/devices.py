"""Tablets as Collect names them."""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from enumerators.models import Device, Enumerator

_UPSERT = """
INSERT INTO {device} (device_id, enumerator_id, user_agent, first_seen, last_seen)
VALUES (%(device_id)s, (SELECT id FROM {enumerator} WHERE user_id = %(user_id)s), %(user_agent)s, %(now)s, %(now)s)
ON CONFLICT (device_id) DO UPDATE SET
    last_seen = excluded.last_seen,
    user_agent = excluded.user_agent,
    enumerator_id = COALESCE(excluded.enumerator_id, {device}.enumerator_id)
RETURNING id
"""


def device_seen(*, device_id: str, user_id: int | None, user_agent: str) -> int | None:
    """Record that a device sent something now, by whom and with which
    client; returns the device's id. One statement in its own short
    transaction, so tablets posting at once never wait on each other."""
    device_id = device_id.strip()[:128]
    if not device_id:
        return None
    sql = _UPSERT.format(device=connection.ops.quote_name(Device._meta.db_table),
                         enumerator=connection.ops.quote_name(Enumerator._meta.db_table))
    now = Device._meta.get_field("last_seen").get_db_prep_save(timezone.now(), connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, {"device_id": device_id, "user_id": user_id or -1, "user_agent": user_agent[:255],
                             "now": now})
        row = cursor.fetchone()
    return int(row[0]) if row is not None else None
