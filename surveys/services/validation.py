"""Validating an instance against the questionnaire version it was made with.

The instance is read into typed answers keyed by field path (groups →
``group/question``, repeats → lists of records keyed the same way), and every
answer is checked: its type, ``required``, ``constraint`` and ``relevant``
evaluated as XPath the way Collect evaluates them (:mod:`surveys.services.xpath`),
and that a question that was not relevant is empty. Each problem names the
field path, a code and a message a supervisor understands.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from lxml import etree

from surveys.form_schema import FormSchema, SchemaField
from surveys.services.instance import parse_instance
from surveys.services.xpath import ExpressionError, date_number, evaluate, time_number

#: Fields filled by the device, not the enumerator: never "answered while not relevant".
AUTOMATIC_TYPES = {"start", "end", "today", "deviceid", "phonenumber", "simserial", "subscriberid", "username",
                   "email", "audit", "start-geopoint", "background-audio", "calculate", "hidden"}
KEPT_META = {"meta/instanceID", "meta/deprecatedID"}
INT_LIMIT = 2**31 - 1  # JavaRosa's integers
SELECT_ONE_TYPES = {"select_one"}
MULTI_TYPES = {"select_multiple", "rank"}


@dataclass(frozen=True)
class Problem:
    path: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "code": self.code, "message": self.message}


@dataclass
class ValidationResult:
    answers: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)
    #: Questions (outside repeats) that were relevant — asked — but left empty:
    #: with the answered ones they make a question's "asked" in the round report.
    unanswered: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return "invalid" if self.problems else "valid"


class FormRules:
    """What validation needs of a schema, prepared once per questionnaire version."""

    def __init__(self, schema: FormSchema) -> None:
        self.schema = schema
        self.root = schema.get("root", "data")
        self.language = schema.get("default_language")
        self.fields = {f["path"]: f for f in schema.get("fields", [])}
        self.children: dict[str | None, list[SchemaField]] = {}
        for f in schema.get("fields", []):
            self.children.setdefault(f["parent"], []).append(f)

    @cached_property
    def choice_names(self) -> dict[str, set[str]]:
        return {name: {c["name"] for c in items} for name, items in self.schema.get("choices", {}).items()}

    def label(self, f: SchemaField) -> str:
        labels = f.get("label") or {}
        return labels.get(self.language) or next(iter(labels.values()), None) or f["name"]


def submission_validate(*, xml: bytes, rules: FormRules, now: dt.datetime | None = None) -> ValidationResult:
    """Typed answers and problems of one instance. Raises
    :class:`~surveys.errors.InvalidSubmission` only if the XML cannot be read."""
    now = now or dt.datetime.now(dt.UTC)
    document = _evaluation_copy(parse_instance(xml), rules)
    result = ValidationResult(answers={})
    _walk(document, parent=None, prefix="", record=result.answers, relevant=True, rules=rules, now=now,
          result=result)
    return result


def _evaluation_copy(root: etree._Element, rules: FormRules) -> etree._Element:
    """A namespace-free copy of the instance (binds use unprefixed paths),
    whose date and time answers validation rewrites as numbers."""
    document = copy.deepcopy(root)
    for element in document.iter():
        if isinstance(element.tag, str) and element.tag.startswith("{"):
            element.tag = etree.QName(element).localname
    document.tag = rules.root
    return document


def _walk(element: etree._Element, *, parent: str | None, prefix: str, record: dict[str, Any], relevant: bool,
          rules: FormRules, now: dt.datetime, result: ValidationResult) -> None:
    present: set[str] = set()
    repeat_index: dict[str, int] = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        name = child.tag
        path = f"{parent}/{name}" if parent else name
        f = rules.fields.get(path)
        if f is None:
            if path.split("/")[0] != "meta":
                result.problems.append(Problem(_where(prefix, name), "unknown_field",
                                               f"'{path}' is not a question of this form version."))
            elif path in KEPT_META and (text := (child.text or "").strip()):
                # instanceName and the like are often built from names: they stay in the raw store.
                record[path] = text
            continue
        present.add(name)
        own = relevant and _holds(f.get("relevant"), child, rules, now, result, _where(prefix, name))
        if f["type"] == "repeat":
            repeat_index[name] = repeat_index.get(name, 0) + 1
            where = f"{_where(prefix, name)}[{repeat_index[name]}]"
            if not own:
                if _has_answers(child):
                    result.problems.append(Problem(where, "not_relevant",
                                                   f"{rules.label(f)}: answered although it was not relevant."))
                continue
            item: dict[str, Any] = {}
            _walk(child, parent=path, prefix=f"{where}/", record=item, relevant=True, rules=rules, now=now,
                  result=result)
            if item:
                record.setdefault(path, []).append(item)
        elif f["type"] == "group":
            _walk(child, parent=path, prefix=f"{_where(prefix, name)}/", record=record, relevant=own, rules=rules,
                  now=now, result=result)
        else:
            _leaf(child, f, where=_where(prefix, name), record=record, relevant=own, rules=rules, now=now,
                  result=result)
    if relevant:
        _absent(element, parent=parent, prefix=prefix, present=present, rules=rules, now=now, result=result)


def _absent(element: etree._Element, *, parent: str | None, prefix: str, present: set[str], rules: FormRules,
            now: dt.datetime, result: ValidationResult) -> None:
    """Questions of ``parent`` left out of the instance. Collect leaves
    non-relevant questions out: absent is fine unless relevant, and then it
    was asked and left empty (or missing when required). A relevant group
    left out entirely (a JSON post may) counts its questions the same way."""
    for f in rules.children.get(parent, []):
        if f["name"] in present or f["type"] == "repeat":
            continue
        where = _where(prefix, f["name"])
        if f.get("relevant") and not _holds(f["relevant"], element, rules, now, result, where):
            continue
        if f["type"] == "group":
            _absent(element, parent=f["path"], prefix=f"{where}/", present=set(), rules=rules, now=now,
                    result=result)
            continue
        if f["type"] not in AUTOMATIC_TYPES and f["type"] != "note" and not f.get("repeat"):
            result.unanswered.append(f["path"])
        if f.get("required") and _holds(f["required"], element, rules, now, result, where):
            result.problems.append(Problem(where, "required",
                                           f"{rules.label(f)}: the answer is required but missing."))


def _where(prefix: str, name: str) -> str:
    return f"{prefix}{name}"


def _has_answers(element: etree._Element) -> bool:
    return any((node.text or "").strip() for node in element.iter() if len(node) == 0)


def _holds(expression: str | None, node: etree._Element, rules: FormRules, now: dt.datetime,
           result: ValidationResult, where: str) -> bool:
    if not expression:
        return True
    try:
        return evaluate(expression, node, now=now)
    except ExpressionError as err:
        result.problems.append(Problem(where, "expression", err.message))
        return True


def _leaf(node: etree._Element, f: SchemaField, *, where: str, record: dict[str, Any], relevant: bool,
          rules: FormRules, now: dt.datetime, result: ValidationResult) -> None:
    value = (node.text or "").strip()
    label = rules.label(f)
    shown = _quotable(f, value)
    if not relevant:
        if value and f["type"] not in AUTOMATIC_TYPES and f["type"] != "note":
            result.problems.append(Problem(where, "not_relevant",
                                           f"{label}: answered{shown} although it was not relevant."))
        return
    if not value:
        if f["type"] not in AUTOMATIC_TYPES and f["type"] != "note" and not f.get("repeat"):
            result.unanswered.append(f["path"])
        if f.get("required") and _holds(f["required"], node, rules, now, result, where):
            result.problems.append(Problem(where, "required", f"{label}: the answer is required but missing."))
        return
    typed, error = typed_value(f, value, rules)
    if error:
        if not _quotable(f, value):
            error = re.sub(r"'[^']*'", "the answer", error)  # say what is wrong without repeating it
        result.problems.append(Problem(where, "type", f"{label}: {error}"))
        node.text = ""  # other expressions see no answer rather than a malformed one
        return
    record[f["path"]] = typed
    _numeric_for_comparison(node, f, value)
    if f.get("constraint") and not _holds(f["constraint"], node, rules, now, result, where):
        message = (f.get("constraint_message") or {}).get(rules.language) or next(
            iter((f.get("constraint_message") or {}).values()), None)
        text = (message or "the answer is not allowed").rstrip(".")
        result.problems.append(Problem(where, "constraint", f"{label}: {text}{shown}."))


#: Answers a message may quote: choices, numbers and dates. Never text,
#: barcodes, calculations, GPS or anything tagged identifier/pseudonym/location
#: (problems are stored outside the raw store).
QUOTABLE_TYPES = {"select_one", "select_multiple", "rank", "integer", "decimal", "range", "date", "dateTime", "time"}


def _quotable(f: SchemaField, value: str) -> str:
    if not value or f["type"] not in QUOTABLE_TYPES or f.get("privacy") in ("identifier", "pseudonym", "location"):
        return ""
    return f" ('{value[:40]}')"


def _numeric_for_comparison(node: etree._Element, f: SchemaField, value: str) -> None:
    """Dates and times compare as numbers in Collect: rewrite the evaluation copy."""
    data_type = f.get("data_type")
    number = date_number(value) if data_type in ("date", "dateTime") else (
        time_number(value) if data_type == "time" else None)
    if number is not None:
        node.text = repr(number)


_INT = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIME = re.compile(r"[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?")


def typed_value(f: SchemaField, value: str, rules: FormRules) -> tuple[Any, str | None]:
    """The answer as a JSON value of its type, or an error message."""
    data_type, ftype = f.get("data_type"), f["type"]
    if data_type == "int":
        if not _INT.fullmatch(value):
            return None, f"'{value[:20]}' is not a whole number."
        if len(value) > 11 or abs(int(value)) > INT_LIMIT:
            return None, f"'{value[:20]}' is too large a whole number."
        return int(value), None
    if data_type == "decimal":
        number = float(value) if _DECIMAL.fullmatch(value) and len(value) <= 40 else math.nan
        if not math.isfinite(number):
            return None, f"'{value[:20]}' is not a number."
        return number, None
    if data_type == "date":
        try:
            if not _DATE.fullmatch(value):
                raise ValueError
            return dt.date.fromisoformat(value).isoformat(), None
        except ValueError:
            return None, f"'{value}' is not a date (YYYY-MM-DD)."
    if data_type == "dateTime":
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None, f"'{value}' is not a date and time."
        if moment.tzinfo is None:
            return None, f"'{value}' has no time zone offset."
        return value, None
    if data_type == "time":
        if not _TIME.fullmatch(value):
            return None, f"'{value}' is not a time (HH:MM:SS)."
        return value, None
    if data_type in ("geopoint", "geotrace", "geoshape"):
        return _geo(value, data_type)
    if ftype in SELECT_ONE_TYPES or ftype in MULTI_TYPES:
        return _select(f, value, rules)
    return value, None


def _geo(value: str, data_type: str) -> tuple[Any, str | None]:
    points = [p.strip() for p in value.split(";") if p.strip()]
    if not points or (data_type == "geopoint" and len(points) != 1):
        return None, f"'{value}' is not a GPS point."
    for point in points:
        parts = point.split()
        try:
            numbers = [float(p) for p in parts]
        except ValueError:
            return None, f"'{point}' is not a GPS point (latitude longitude altitude accuracy)."
        if not 2 <= len(numbers) <= 4:
            return None, f"'{point}' is not a GPS point (latitude longitude altitude accuracy)."
        if not (-90 <= numbers[0] <= 90 and -180 <= numbers[1] <= 180):
            return None, f"'{point}' is outside the range of latitudes and longitudes."
        if len(numbers) == 4 and numbers[3] < 0:
            return None, f"'{point}' has a negative accuracy."
    return value, None


def _select(f: SchemaField, value: str, rules: FormRules) -> tuple[Any, str | None]:
    names = rules.choice_names.get(f.get("list_name") or "")
    tokens = value.split()
    multiple = f["type"] in MULTI_TYPES
    if not multiple and len(tokens) != 1:
        return None, f"'{value}' is more than one choice."
    if len(set(tokens)) != len(tokens):
        return None, f"'{value}' repeats a choice."
    if names is not None:
        unknown = [t for t in tokens if t not in names]
        if unknown:
            return None, f"{', '.join(repr(u) for u in unknown)} is not a choice of this question."
    return (tokens if multiple else tokens[0]), None
