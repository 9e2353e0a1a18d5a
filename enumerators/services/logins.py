"""Logins: password guessing limited, and the replay guard of HTTP Digest.

Every entry point that checks a password — OpenRosa Basic and Digest, the
admin's login form — calls :func:`login_attempt`. Failed logins are counted
per account name (as typed) and per client address in
:class:`LoginFailureCount`, one upsert per failure: in the database, so the
limit holds on the embedded default and through a Redis outage. Once an
account reaches ``MTM_LOGIN_FAILURES_PER_ACCOUNT`` failures (an address
``MTM_LOGIN_FAILURES_PER_ADDRESS``), each within ``MTM_LOGIN_WINDOW_SECONDS``
of the one before, further attempts are refused unchecked
(:class:`~mtm.errors.TooManyAttempts`) for ``MTM_LOGIN_LOCKOUT_SECONDS``,
doubled for every failure after that, up to ``MTM_LOGIN_LOCKOUT_MAX_SECONDS``;
the counts are forgotten after a whole quiet window once the lock has ended.
A success resets nothing: a guesser cannot clear an address's count by
logging into an account of their own, nor the owner clear the guesser's.
Attempts refused while locked are not counted (no write). Each lockout is
audited in :class:`LoginLockout` (account, address, entry point, time —
never the password) and logged. API tokens are not passwords: not counted.

A login remembered by :mod:`enumerators.login_cache` is not an attempt: it
repeats credentials the database accepted minutes ago, so a locked account's
tablet that is already signed in keeps sending; new credentials wait.

Digest nonce counts are kept in the database too (:class:`DigestNonceCount`),
one upsert per Digest request: shared by every web process, and neither a
Redis outage nor a Redis restart can make the server forget a count and
accept a replayed request.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from enumerators.models import DigestNonceCount, LoginFailureCount, LoginLockout, LoginScope
from mtm.errors import TooManyAttempts

log = logging.getLogger(__name__)
T = TypeVar("T")

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


def login_attempt(*, account: str, address: str, entry: str, verify: Callable[[], T | None]) -> T | None:
    """Check a password unless the account or the address is locked: ``verify()`` runs the check and
    answers the account, or None for wrong credentials, which are counted. Raises
    :class:`~mtm.errors.TooManyAttempts` while locked, without calling ``verify``."""
    login_lock_check(account=account, address=address)
    result = verify()
    if result is None:
        login_failure_record(account=account, address=address, entry=entry)
    return result


def login_lock_check(*, account: str, address: str) -> None:
    """Raise :class:`~mtm.errors.TooManyAttempts` while the account or the address is locked (one query)."""
    now = timezone.now()
    until = (LoginFailureCount.objects
             .filter(Q(scope=LoginScope.ACCOUNT, key=account[:150]) | Q(scope=LoginScope.ADDRESS, key=address),
                     locked_until__gt=now)
             .order_by("-locked_until").values_list("locked_until", flat=True).first())
    if until is not None:
        raise _locked(until - now)


def _locked(wait: timedelta) -> TooManyAttempts:
    seconds = max(1, int(wait.total_seconds() + 0.999))
    minutes = (seconds + 59) // 60
    return TooManyAttempts(_("Too many failed logins for this account or from this address: try again in "
                             "%(minutes)d min.") % {"minutes": minutes}, retry_after=seconds)


_FAILURE_UPSERT = """
INSERT INTO {table} (scope, {key}, failures, last_failure, locked_until)
VALUES (%(account_scope)s, %(account)s, 1, %(now)s, NULL), (%(address_scope)s, %(address)s, 1, %(now)s, NULL)
ON CONFLICT (scope, {key}) DO UPDATE SET
    failures = CASE WHEN {table}.last_failure < %(since)s
                     AND ({table}.locked_until IS NULL OR {table}.locked_until < %(since)s)
                    THEN 1 ELSE {table}.failures + 1 END,
    last_failure = excluded.last_failure
RETURNING scope, failures
"""
_FAILURE_PURGE = """
DELETE FROM {table} WHERE last_failure < %(since)s AND (locked_until IS NULL OR locked_until < %(since)s)
"""


def login_failure_record(*, account: str, address: str, entry: str) -> None:
    """Count one failed login against the account name and the client address (one upsert); lock whichever
    has reached its limit, and audit the lockout."""
    now = timezone.now()
    since = now - timedelta(seconds=settings.MTM_LOGIN_WINDOW_SECONDS)
    field = LoginFailureCount._meta.get_field("last_failure")
    params = {"account_scope": LoginScope.ACCOUNT.value, "account": account[:150],
              "address_scope": LoginScope.ADDRESS.value, "address": address,
              "now": field.get_db_prep_save(now, connection), "since": field.get_db_prep_save(since, connection)}
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(_FAILURE_UPSERT.format(table=qn(LoginFailureCount._meta.db_table), key=qn("key")), params)
        failures = {scope: count for scope, count in cursor.fetchall()}
        if failures.get(LoginScope.ACCOUNT.value) == 1:
            # A count starts afresh: the moment to drop the counts nobody has added to for a whole window.
            cursor.execute(_FAILURE_PURGE.format(table=qn(LoginFailureCount._meta.db_table)), params)
    log.info("Failed login: account %r from %s (%s), %s failures of the account, %s of the address.",
             account, address, entry, failures.get(LoginScope.ACCOUNT.value), failures.get(LoginScope.ADDRESS.value))
    limits = {LoginScope.ACCOUNT.value: (settings.MTM_LOGIN_FAILURES_PER_ACCOUNT, account[:150]),
              LoginScope.ADDRESS.value: (settings.MTM_LOGIN_FAILURES_PER_ADDRESS, address)}
    for scope, count in failures.items():
        limit, key = limits[scope]
        if count >= limit:
            _lock(scope=scope, key=key, failures=count, limit=limit, now=now, account=account, address=address,
                  entry=entry)


def _lock(*, scope: str, key: str, failures: int, limit: int, now: datetime, account: str, address: str,
          entry: str) -> None:
    seconds = min(settings.MTM_LOGIN_LOCKOUT_SECONDS * 2 ** min(failures - limit, 20),
                  settings.MTM_LOGIN_LOCKOUT_MAX_SECONDS)
    until = now + timedelta(seconds=seconds)
    LoginFailureCount.objects.filter(scope=scope, key=key).update(locked_until=until)
    LoginLockout.objects.create(scope=scope, account=account[:150], address=address, entry=entry,
                                failures=failures, at=now, until=until)
    log.warning("Login lockout: %s %r locked for %d s after %d failed logins (last: account %r from %s, %s).",
                scope, key, seconds, failures, account, address, entry)
