"""OData ``$filter`` and ``$orderby`` in ODK Central's subset, parsed by a small recursive-descent
parser (no eval; bounded in length, tokens and depth) into ORM filters over the submissions.

Fields: ``__system/submissionDate``, ``__system/updatedAt``, ``__system/submitterId``,
``__system/reviewState``, ``__id`` and the answer fields outside repeats (by path, ``resp/age``).
Operators ``eq ne lt le gt ge and or not`` and parentheses; literals: strings (``'…'``, ``''`` for a
quote), numbers, ``null``, ``true``/``false``, dates and date-times (``2024-05-01``,
``2024-05-01T00:00:00Z``); functions ``now()`` and ``year month day hour minute second`` of a date
field. Anything else is refused as Central refuses it: 400.18 for what cannot be parsed, 501.4 for an
expression it does not support, 501.5 for a field it does not know."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Q
from django.db.models.fields.json import KeyTransform
from django.utils import timezone

from mtm.errors import InvalidInput, Unsupported
from surveys.selectors.central.odata import REVIEW_STATES, ODataModel

MAX_LENGTH = 4000
MAX_TOKENS = 400
MAX_DEPTH = 40


class FilterUnparseable(InvalidInput):
    central_code = 400.18

    def __init__(self, reason: str) -> None:
        super().__init__(f"The OData filter expression you provided could not be parsed: {reason}")


class FilterUnsupported(Unsupported):
    central_code = 501.4

    def __init__(self, kind: str, at: int, text: str) -> None:
        super().__init__(f"The given OData filter expression uses features not supported by this server: "
                         f'{kind} at {at} ("{text}")')


class FilterFieldUnsupported(Unsupported):
    central_code = 501.5

    def __init__(self, text: str, at: int) -> None:
        super().__init__(f"The given OData filter expression references fields not supported by this server: "
                         f"{text} at {at}")


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?)
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<open>\()
  | (?P<close>\))
  | (?P<comma>,)
  | (?P<name>[A-Za-z_$][\w.\-]*(?:/[A-Za-z_][\w.\-]*)*)
""", re.VERBOSE)

_COMPARE = {"eq": "exact", "ne": "exact", "lt": "lt", "le": "lte", "gt": "gt", "ge": "gte"}
_PARTS = {"year", "month", "day", "hour", "minute", "second"}
_SYSTEM_DATES = {"__system/submissionDate": "received_at", "__system/updatedAt": "reviewed_at"}
_CENTRAL_STATES: dict[str, list[str]] = {}
for _ours, _theirs in REVIEW_STATES.items():
    _CENTRAL_STATES.setdefault(_theirs, []).append(_ours)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    at: int


@dataclass(frozen=True)
class Member:
    """A field in an expression: its ORM column (or ``answers`` key) and kind; ``part`` a date function."""

    text: str
    at: int
    column: str
    kind: str  # "date", "submitter", "review", "id", or an answer's XLSForm type
    part: str | None = None


def _tokens(text: str) -> list[Token]:
    if len(text) > MAX_LENGTH:
        raise FilterUnparseable(f"the expression is longer than {MAX_LENGTH} characters")
    out: list[Token] = []
    at = 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            raise FilterUnparseable(f"unexpected character at {at} ({text[at]!r})")
        kind = match.lastgroup or ""
        if kind != "ws":
            out.append(Token(kind, match.group(), at))
            if len(out) > MAX_TOKENS:
                raise FilterUnparseable(f"the expression has more than {MAX_TOKENS} terms")
        at = match.end()
    return out


class _Parser:
    def __init__(self, text: str, model: ODataModel) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.model = model
        self.depth = 0

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, kind: str | None = None, text: str | None = None) -> Token:
        token = self.peek()
        if token is None:
            raise FilterUnparseable("the expression ends too early")
        if (kind and token.kind != kind) or (text and token.text != text):
            raise FilterUnparseable(f"unexpected {token.text!r} at {token.at}")
        self.pos += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "name" and token.text == word:
            self.pos += 1
            return True
        return False

    def parse(self) -> Q:
        if not self.tokens:
            raise FilterUnparseable("the expression is empty")
        result = self.disjunction()
        if self.peek() is not None:
            token = self.take()
            raise FilterUnparseable(f"unexpected {token.text!r} at {token.at}")
        return result

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FilterUnparseable(f"the expression is nested more than {MAX_DEPTH} deep")

    def disjunction(self) -> Q:
        result = self.conjunction()
        while self.keyword("or"):
            result = result | self.conjunction()
        return result

    def conjunction(self) -> Q:
        result = self.negation()
        while self.keyword("and"):
            result = result & self.negation()
        return result

    def negation(self) -> Q:
        if self.keyword("not"):
            self.nested()
            inner = self.negation()
            self.depth -= 1
            return ~inner
        return self.comparison()

    def comparison(self) -> Q:
        token = self.peek()
        if token is not None and token.kind == "open":
            self.take()
            self.nested()
            inner = self.disjunction()
            self.take("close")
            self.depth -= 1
            return inner
        left = self.operand()
        op_token = self.peek()
        if op_token is None or op_token.kind != "name" or op_token.text not in _COMPARE:
            if op_token is not None and op_token.kind == "name" and op_token.text in {"add", "sub", "mul", "div",
                                                                                       "mod", "has", "in"}:
                raise FilterUnsupported("operator", op_token.at, op_token.text)
            raise FilterUnparseable(f"expected a comparison after {token.text if token else ''!r}")
        self.take()
        right = self.operand()
        return _compare(left, op_token.text, right)

    def operand(self) -> Member | Any:
        token = self.take()
        if token.kind == "string":
            return token.text[1:-1].replace("''", "'")
        if token.kind == "number":
            return float(token.text) if any(c in token.text for c in ".eE") else int(token.text)
        if token.kind == "datetime":
            return _datetime(token)
        if token.kind != "name":
            raise FilterUnparseable(f"unexpected {token.text!r} at {token.at}")
        if token.text in ("null", "true", "false"):
            return {"null": None, "true": True, "false": False}[token.text]
        following = self.peek()
        if following is not None and following.kind == "open":  # a function
            self.take()
            if token.text == "now":
                self.take("close")
                return timezone.now()
            if token.text not in _PARTS:
                raise FilterUnsupported("function", token.at, token.text)
            argument = self.operand()
            self.take("close")
            if not isinstance(argument, Member) or argument.kind != "date":
                raise FilterUnsupported("function argument", token.at, token.text)
            return Member(argument.text, argument.at, argument.column, "part", token.text)
        return self.member(token)

    def member(self, token: Token) -> Member:
        text = token.text
        if text in _SYSTEM_DATES:
            return Member(text, token.at, _SYSTEM_DATES[text], "date")
        if text == "__system/submitterId":
            return Member(text, token.at, "submitted_by_id", "submitter")
        if text == "__system/reviewState":
            return Member(text, token.at, "review_status", "review")
        if text == "__id":
            return Member(text, token.at, "instance_id", "id")
        leaf = self.model.leaves.get(text)
        if leaf is None or "__" in text:
            raise FilterFieldUnsupported(text, token.at)
        return Member(text, token.at, f"answers__{text}", leaf.kind)


def _datetime(token: Token) -> dt.datetime:
    text = token.text
    try:
        if len(text) == 10:
            return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FilterUnparseable(f"{text!r} at {token.at} is not a date") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _compare(left: Any, op: str, right: Any) -> Q:
    flipped = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}
    if not isinstance(left, Member) and isinstance(right, Member):
        left, right, op = right, left, flipped.get(op, op)
    if not isinstance(left, Member) or isinstance(right, Member):
        raise FilterUnsupported("comparison", getattr(left, "at", 0), op)
    condition = _condition(left, op, right)
    return ~condition if op == "ne" else condition


def _condition(member: Member, op: str, value: Any) -> Q:
    lookup = _COMPARE[op]
    if member.kind == "review":
        if op not in ("eq", "ne"):
            raise FilterUnsupported("comparison", member.at, f"{member.text} {op}")
        if value is None:
            return Q(review_status__isnull=True, previous__isnull=True)
        if value == "edited":
            return Q(review_status__isnull=True, previous__isnull=False)
        ours = _CENTRAL_STATES.get(value) if isinstance(value, str) else None
        if ours is None:
            return Q(pk__in=[])
        return Q(review_status__in=ours)
    if value is None:
        if op not in ("eq", "ne"):
            raise FilterUnsupported("comparison with null", member.at, member.text)
        if member.column.startswith("answers__"):
            return Q(**{f"{member.column}__isnull": True}) | Q(**{member.column: None})
        return Q(**{f"{member.column}__isnull": True})
    if member.kind == "part":
        if not isinstance(value, int) or isinstance(value, bool):
            raise FilterUnsupported("comparison", member.at, f"{member.part}({member.text})")
        return Q(**{f"{member.column}__{member.part}__{lookup}": value})
    if member.kind == "date":
        if not isinstance(value, dt.datetime):
            raise FilterUnparseable(f"{member.text} compares with a date or date-time, not {value!r}")
        return Q(**{f"{member.column}__{lookup}": value})
    if member.kind == "submitter":
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise FilterUnparseable(f"{member.text} compares with an account id, not {value!r}") from None
        return Q(**{f"{member.column}__{lookup}": number})
    if isinstance(value, dt.datetime):
        value = value.date().isoformat() if member.kind == "date" else value.isoformat()
    if member.kind in ("integer", "decimal", "range") and not isinstance(value, int | float):
        raise FilterUnparseable(f"{member.text} is a number, not {value!r}")
    if member.kind not in ("integer", "decimal", "range") and isinstance(value, int | float) \
            and not isinstance(value, bool):
        value = str(value)
    return Q(**{f"{member.column}__{lookup}": value})


def odata_filter(text: str, model: ODataModel) -> Q:
    """``$filter`` as a filter over the form's submissions."""
    return _Parser(text, model).parse()


# --- $orderby -------------------------------------------------------------------------------------------

_ORDER_COLUMNS = {"__system/submissionDate": "received_at", "__system/updatedAt": "reviewed_at",
                  "__system/submitterId": "submitted_by_id", "__system/reviewState": "review_status",
                  "__id": "instance_id"}
_ORDER_TERM = re.compile(r"^\s*([A-Za-z_][\w.\-]*(?:/[A-Za-z_][\w.\-]*)*)(?:\s+(asc|desc))?\s*$")


def odata_orderby(text: str, model: ODataModel) -> list[Any]:
    """``$orderby`` (comma-separated fields, each ``asc`` or ``desc``) as ORM ordering, id last."""
    if len(text) > MAX_LENGTH:
        raise FilterUnparseable(f"$orderby is longer than {MAX_LENGTH} characters")
    order: list[Any] = []
    for term in text.split(","):
        match = _ORDER_TERM.match(term)
        if match is None:
            raise FilterUnparseable(f"$orderby term {term.strip()!r} is not a field with asc or desc")
        name, direction = match.group(1), match.group(2) or "asc"
        if name in _ORDER_COLUMNS:
            expression: Any = F(_ORDER_COLUMNS[name])
        elif name in model.leaves and "__" not in name:
            expression = KeyTransform(name, "answers")
        else:
            raise FilterFieldUnsupported(name, text.find(name))
        order.append(expression.desc(nulls_last=True) if direction == "desc" else expression.asc(nulls_first=True))
    return order

