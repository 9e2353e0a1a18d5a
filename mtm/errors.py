"""The one family of domain errors. Interfaces map them to their protocol's
status codes and message forms (OpenRosa XML, DRF errors, command exit codes)."""


class MtmError(Exception):
    """Base of every error a service raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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
