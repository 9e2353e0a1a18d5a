"""The ``query``, ``sort`` and ``fields`` parameters of KoboToolbox's data
endpoint, read into database filters.

``query`` is the Mongo-style JSON clients send: equality (``{"f": v}``,
``$eq``), ``$ne``, ``$gt``/``$gte``/``$lt``/``$lte``, ``$in``/``$nin``,
``$exists``, ``$and``/``$or`` — on ``_id``, ``_uuid``, ``meta/instanceID``,
``_submission_time`` (ISO date or date-time, UTC when no zone is given, as
KoboToolbox stores it), ``_submitted_by``, ``__version__``,
``_validation_status.uid`` and on answer fields by their group path (values
compared as the question's type: numbers as numbers, select_multiple as the
space-separated string of its choices).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.db.models import Q
from django.utils.dateparse import parse_date, parse_datetime

from mtm.errors import InvalidInput
from surveys.models import Submission

#: KoboToolbox's validation status uids and the review states they stand for.
VALIDATION_UIDS = {
    "validation_status_approved": Submission.Review.APPROVED,
    "validation_status_not_approved": Submission.Review.NOT_APPROVED,
    "validation_status_on_hold": Submission.Review.ON_HOLD,
}
VALIDATION_LABELS: dict[str, tuple[str, str, str]] = {
    Submission.Review.APPROVED: ("validation_status_approved", "Approved", "#00ff00"),
    Submission.Review.NOT_APPROVED: ("validation_status_not_approved", "Not Approved", "#ff0000"),
    Submission.Review.ON_HOLD: ("validation_status_on_hold", "On Hold", "#0000ff"),
}

_COLUMNS = {
    "_id": "id",
    "_uuid": "instance_id",
    "meta/instanceID": "instance_id",
    "_submission_time": "received_at",
    "_submitted_by": "submitted_by__username",
    "__version__": "questionnaire__version",
    "_xform_id_string": "form_id",
    "_validation_status.uid": "review_status",
}
_COMPARISONS = {"$eq": "exact", "$gt": "gt", "$gte": "gte", "$lt": "lt", "$lte": "lte", "$in": "in"}
_NUMERIC = {"integer", "decimal", "range"}


def parse_json_param(raw: str | None, name: str, kind: type) -> Any:
    if raw is None or raw.strip() == "":
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        raise InvalidInput(f"'{name}' is not valid JSON.") from None
    if not isinstance(value, kind):
        raise InvalidInput(f"'{name}' must be a JSON {'object' if kind is dict else 'array'}.")
    return value


def query_filter(query: dict[str, Any] | None, types: dict[str, str]) -> Q:
    """A Mongo-style query as a filter on submissions; ``types`` maps answer paths to question types."""
    if not query:
        return Q()
    out = Q()
    for key, condition in query.items():
        if key in ("$and", "$or"):
            if not isinstance(condition, list) or not all(isinstance(c, dict) for c in condition):
                raise InvalidInput(f"'{key}' takes a list of queries.")
            parts = [query_filter(c, types) for c in condition]
            combined = Q()
            for part in parts:
                combined = combined & part if key == "$and" else combined | part
            out &= combined if parts else Q()
        elif key.startswith("$"):
            raise InvalidInput(f"The query operator '{key}' is not supported.")
        else:
            out &= _field_filter(key, condition, types)
    return out


def _field_filter(key: str, condition: Any, types: dict[str, str]) -> Q:
    column = _COLUMNS.get(key) or f"answers__{key}"
    if not isinstance(condition, dict) or not any(k.startswith("$") for k in condition):
        return _compare(key, column, "exact", condition, types)
    out = Q()
    for op, operand in condition.items():
        if op in _COMPARISONS:
            out &= _compare(key, column, _COMPARISONS[op], operand, types)
        elif op == "$ne":
            out &= ~_compare(key, column, "exact", operand, types)
        elif op == "$nin":
            out &= ~_compare(key, column, "in", operand, types)
        elif op == "$exists":
            present = _present(key, column)
            out &= present if operand else ~present
        else:
            raise InvalidInput(f"The query operator '{op}' is not supported.")
    return out


def _present(key: str, column: str) -> Q:
    if column.startswith("answers__"):
        return Q(answers__has_key=key)
    return Q(**{f"{column}__isnull": False})


def _compare(key: str, column: str, lookup: str, value: Any, types: dict[str, str]) -> Q:
    if lookup == "in":
        if not isinstance(value, list):
            raise InvalidInput(f"'$in' on '{key}' takes a list.")
        values = [_value(key, v, types) for v in value]
        if key == "_validation_status.uid" and None in values:
            return Q(review_status__in=[v for v in values if v]) | _no_status()
        return Q(**{f"{column}__in": values})
    converted = _value(key, value, types)
    if key == "_validation_status.uid" and converted is None:
        return _no_status()
    if converted is None and not column.startswith("answers__"):
        return Q(**{f"{column}__isnull": True})
    return Q(**{f"{column}__{lookup}": converted})


def _no_status() -> Q:
    return Q(review_status__isnull=True) | Q(review_status=Submission.Review.HAS_ISSUES)


def _value(key: str, value: Any, types: dict[str, str]) -> Any:
    if key == "_id":
        try:
            return int(value)
        except (TypeError, ValueError):
            raise InvalidInput(f"'_id' compares with whole numbers, not {value!r}.") from None
    if key == "_uuid":
        return value if str(value).startswith("uuid:") else f"uuid:{value}"
    if key == "_submission_time":
        return submission_time(value)
    if key == "_validation_status.uid":
        return VALIDATION_UIDS.get(value) if value else None
    ftype = types.get(key)
    if ftype in _NUMERIC and isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() and ftype != "decimal" else number
    if ftype == "select_multiple" and isinstance(value, str):
        return value.split()
    return value


def submission_time(value: Any) -> dt.datetime:
    """A ``_submission_time`` bound: an ISO date-time (UTC unless it names a zone) or a date."""
    text = str(value).strip().replace(" ", "T") if value is not None else ""
    parsed = parse_datetime(text)
    if parsed is None:
        day = parse_date(text)
        if day is None:
            raise InvalidInput(f"'{value}' is not a date or date-time for _submission_time.")
        parsed = dt.datetime.combine(day, dt.time())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def sort_columns(sort: dict[str, Any] | None) -> list[str]:
    """``sort`` (``{"_submission_time": -1}``) as ``order_by`` columns, ``_id`` last to make the order total."""
    columns: list[str] = []
    for key, direction in (sort or {}).items():
        if direction not in (1, -1, "1", "-1", "asc", "desc"):
            raise InvalidInput(f"Sort '{key}' by 1 or -1.")
        column = _COLUMNS.get(key, f"answers__{key}")
        if key == "_validation_status.uid":
            column = "review_status"
        descending = direction in (-1, "-1", "desc")
        columns.append(f"-{column}" if descending else column)
    if not any(c.lstrip("-") == "id" for c in columns):
        columns.append("id")
    return columns
