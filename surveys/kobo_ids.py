"""KoboToolbox's identifiers for MTM Collect's forms: the asset ``uid`` of a
form (stored on each version as :attr:`surveys.models.Questionnaire.kobo_uid`),
the ``formhub/uuid`` of its records and the ``$kuid`` of its rows. Each is a
hash of the form_id: the same on every server, for every version."""

from __future__ import annotations

import hashlib

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _base62(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, digit = divmod(number, 62)
        out.append(_ALPHABET[digit])
    return "".join(reversed(out)) or "0"


def asset_uid(form_id: str) -> str:
    """The asset uid of a form: 22 characters starting with ``a`` as
    KoboToolbox's, the same for every version and on every server."""
    return "a" + _base62(hashlib.sha256(f"mtm-collect:asset:{form_id}".encode()).digest())[:21]


def formhub_uuid(form_id: str) -> str:
    """The ``formhub/uuid`` of the form's records (32 hex digits, like KoboToolbox's XForm uuid)."""
    return hashlib.sha256(f"mtm-collect:xform:{form_id}".encode()).hexdigest()[:32]


def kuid(form_id: str, path: str) -> str:
    return _base62(hashlib.sha256(f"{form_id}:{path}".encode()).digest())[:9]
