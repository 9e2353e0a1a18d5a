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


class MtmError(Exception):
    """Base of every error a service raises on purpose."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
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

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(MtmError):
    """Something the server needs cannot be used now (a locked store); nothing was changed."""


#: Each kind's HTTP status, most specific first: the one table every HTTP interface reads.
HTTP_STATUS: tuple[tuple[type[MtmError], int], ...] = (
    (NotFound, 404), (Forbidden, 403), (Conflict, 409), (TooLarge, 413), (TooManyAttempts, 429), (Unavailable, 503),
    (InvalidInput, 400),
)


def http_status(error: MtmError) -> int:
    """The HTTP status of a domain error (400 for a kind the table does not name)."""
    return next((code for kind, code in HTTP_STATUS if isinstance(error, kind)), 400)
