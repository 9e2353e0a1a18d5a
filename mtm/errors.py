"""The one family of domain errors. Interfaces map them to their protocol's
status codes and message forms in one place each:

- the APIs (v1 and KoBo's v2): :func:`surveys.api.exceptions.exception_handler`,
  DRF's ``EXCEPTION_HANDLER``;
- OpenRosa: :data:`surveys.openrosa.http.STATUS` (the envelope's status) in
  :func:`surveys.openrosa.views.openrosa_view`;
- the admin: :func:`mtm.admin.reported` (a message) and
  :class:`mtm.middleware.DomainErrorMiddleware` (404 / 403 pages);
- management commands: :class:`mtm.commands.DomainCommand` (exit code 2).

``field`` names the input the error is about, when there is one (an API
answers ``{field: [message]}`` then, as DRF's own validation does)."""

from __future__ import annotations

import errno

from django.db import DatabaseError, InterfaceError, OperationalError
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class MtmError(Exception):
    """Base of every error a service raises on purpose.

    Its message is for a person: services write it through ``gettext``, so it is in the language active
    where it is raised — the page's, the tablet's (OpenRosa), English on the APIs (:mod:`mtm.locale`); a
    lazy text is rendered here, in that same language."""

    def __init__(self, message: str | Promise, *, field: str | None = None) -> None:
        text = str(message)
        super().__init__(text)
        self.message = text
        self.field = field


class NotFound(MtmError):
    """The thing asked for does not exist (or is not visible to the caller)."""


class Forbidden(MtmError):
    """The caller is known but may not do this."""


class InvalidInput(MtmError):
    """The input is malformed or breaks a rule; nothing was stored."""


class Conflict(MtmError):
    """The input contradicts something already stored; nothing was changed."""


class TooLarge(MtmError):
    """The input is larger than this server accepts."""


class TooManyAttempts(MtmError):
    """The caller failed too often (logins): refused without being checked for ``retry_after`` seconds."""

    def __init__(self, message: str | Promise, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(MtmError):
    """Something the server needs cannot be used now (a locked store); nothing was changed."""


#: Each kind's HTTP status, most specific first: the one table every HTTP interface reads.
HTTP_STATUS: tuple[tuple[type[MtmError], int], ...] = (
    (NotFound, 404), (Forbidden, 403), (Conflict, 409), (TooLarge, 413), (TooManyAttempts, 429), (Unavailable, 503),
    (InvalidInput, 400),
)

#: A 503's ``Retry-After`` (seconds): ODK Collect and KoboCollect send again.
RETRY_AFTER_SECONDS = 60

#: The answer to a NUL byte in a request's text (PostgreSQL cannot store one), on every interface.
NUL_MESSAGE = _("The request contains a NUL (0x00) character, which no text may contain.")

#: PostgreSQL's SQLSTATEs for a transaction that lost to a concurrent one: a deadlock, a serialization failure.
_CONCURRENT_SQLSTATES = frozenset({"40P01", "40001"})


#: A disk (or quota) that is full: the server cannot store now; the client sends again later.
_STORAGE_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
STORAGE_FULL_MESSAGE = _("The server's storage is full; send again later.")

#: The database cannot be reached (restarting, failing over, too many connections): nothing was stored.
DATABASE_DOWN_MESSAGE = _("The server cannot store anything at the moment; send again later.")
#: SQLSTATE classes and codes of a database that is not there: 08 connection exceptions, 57P01–57P03
#: (administrator shutdown, crash shutdown, cannot connect now), 53300 too many connections.
_DATABASE_DOWN_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})


def storage_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in _STORAGE_FULL_ERRNOS


def database_down(exc: BaseException) -> bool:
    """True for a database that is gone rather than a statement that failed: the connection was refused or
    lost (no SQLSTATE, class 08) or the server is shutting down, starting up or full of connections."""
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    cause = exc.__cause__
    if cause is None or not hasattr(cause, "sqlstate"):  # SQLite (no SQLSTATE): a database held locked
        return "database is locked" in str(exc)
    state: str | None = cause.sqlstate
    return state is None or state.startswith("08") or state in _DATABASE_DOWN_SQLSTATES


def refused_input(exc: BaseException) -> MtmError | None:
    """What an exception that is not ours says about the *input*, as a domain error,
    for the protocols' one error path; ``None`` when it is the server's fault.

    - a text with a NUL byte (``\\x00``), which PostgreSQL cannot store (psycopg refuses it
      when it adapts the value: ``DataError`` in psycopg 3, ``ValueError`` in psycopg2): 400;
    - input nested deeper than the parser's recursion (JSON, a KoBo query): 400;
    - a transaction that lost a deadlock or a serialization race to a concurrent one: 409,
      nothing of it was stored, the client sends again;
    - a full disk (an upload spooled to a temporary file, an attachment): 503, send again later;
    - a database that cannot be reached (restarting, failing over): 503, send again later."""
    if isinstance(exc, ValueError | DatabaseError) and "NUL (0x00)" in str(exc):
        return InvalidInput(NUL_MESSAGE)
    if isinstance(exc, RecursionError):
        return InvalidInput(_("The request is nested too deeply."))
    if isinstance(exc, DatabaseError) and getattr(exc.__cause__, "sqlstate", None) in _CONCURRENT_SQLSTATES:
        return Conflict(_("The request met a concurrent change and was not stored; send it again."))
    if storage_full(exc):
        return Unavailable(STORAGE_FULL_MESSAGE)
    if database_down(exc):
        return Unavailable(DATABASE_DOWN_MESSAGE)
    return None


def http_status(error: MtmError) -> int:
    """The HTTP status of a domain error (400 for a kind the table does not name)."""
    return next((code for kind, code in HTTP_STATUS if isinstance(error, kind)), 400)
