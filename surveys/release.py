"""The release policy: what of an anonymised record may leave the server.

The anonymised record (:mod:`surveys.services.anonymise`) has no identifying
answer already; :func:`answers_released` is the last guard before any
response, export or report: a field tagged ``identifier`` never leaves the
raw store. Every interface that shows answers goes through it."""

from __future__ import annotations

from typing import Any

from surveys.form_schema import FormSchema

#: Privacy tags whose answers never leave the raw store. The anonymised record
#: has none already; this is the last guard before any response.
WITHHELD_PRIVACY = {"identifier"}


def withheld_paths(schema: FormSchema) -> frozenset[str]:
    """The paths of a version's fields that never leave the raw store."""
    return frozenset(f["path"] for f in schema.get("fields", []) if f.get("privacy") in WITHHELD_PRIVACY)


def answers_released(*, answers: dict[str, Any] | None, schema: FormSchema,
                     withheld: frozenset[str] | None = None) -> dict[str, Any]:
    """The anonymised record without any field tagged identifier. ``withheld``
    (:func:`withheld_paths` of ``schema``) may be given by callers that
    release many records of one version."""
    if not answers:
        return {}
    if withheld is None:
        withheld = withheld_paths(schema)

    def keep(record: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for path, value in record.items():
            if path in withheld:
                continue
            out[path] = [keep(item) for item in value] if type(value) is list and value and type(
                value[0]) is dict else value
        return out

    return keep(answers)
