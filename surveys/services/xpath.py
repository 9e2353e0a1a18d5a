"""XForm expressions evaluated the way ODK Collect evaluates them, on lxml's
XPath 1.0 engine with the ODK XForms functions registered.

Collect compares dates and times as numbers (days since 1970-01-01), so the
document the expressions run against is a copy of the instance in which
date, dateTime and time answers are replaced by that number, and
``today()``/``now()`` return numbers too. Every expression is evaluated
under ``boolean(…)`` when a truth value is wanted.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import uuid as uuidlib
from collections.abc import Callable
from contextvars import ContextVar
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from lxml import etree

from mtm.errors import InvalidInput

JR_NS = "http://openrosa.org/javarosa"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
#: An XPath extension function as lxml calls it: the evaluation context, then the arguments.
XPathFunction = Callable[..., Any]


class ExpressionError(InvalidInput):
    """The form's expression cannot be evaluated (unknown function, bad syntax)."""


def _string(value: Any) -> str:
    """XPath string() of an argument as lxml passes it."""
    if isinstance(value, list):
        if not value:
            return ""
        first = value[0]
        return first if isinstance(first, str) else "".join(first.itertext())
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _number(value: Any) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    text = _string(value).strip()
    try:
        return float(text)
    except ValueError:
        days = date_number(text)
        return days if days is not None else math.nan


def _boolean(value: Any) -> bool:
    if isinstance(value, list):
        return bool(value)
    if isinstance(value, str):
        return value != ""
    if isinstance(value, float):
        return not math.isnan(value) and value != 0
    return bool(value)


def date_number(text: str) -> float | None:
    """Days since 1970-01-01 (UTC) of an XForm date or dateTime; None if it is neither."""
    text = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return float((dt.date.fromisoformat(text) - dt.date(1970, 1, 1)).days)
        except ValueError:
            return None
    if "T" in text:
        try:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return (moment - EPOCH).total_seconds() / 86400
    return None


def time_number(text: str) -> float | None:
    """A time of day as the fraction of a day, for comparisons."""
    match = re.fullmatch(r"(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?", text.strip())
    if not match:
        return None
    hours, minutes, seconds = int(match[1]), int(match[2]), int(match[3] or 0)
    return (hours * 3600 + minutes * 60 + seconds) / 86400


def _tokens(value: Any) -> list[str]:
    return _string(value).split()


def _format_date(_ctx: object, value: Any, fmt: Any) -> str:
    days = _number(value)
    if math.isnan(days):
        return ""
    moment = EPOCH + dt.timedelta(days=days)
    mapping = {"%Y": "%Y", "%y": "%y", "%m": "%m", "%n": "%-m", "%b": "%b", "%d": "%d", "%e": "%-d",
               "%H": "%H", "%h": "%-H", "%M": "%M", "%S": "%S", "%a": "%a"}
    out = re.sub(r"%[A-Za-z]", lambda m: moment.strftime(mapping.get(m[0], m[0])), _string(fmt))
    return out


def _indexed_repeat(_ctx: object, nodes: Any, _repeat: Any, index: Any, *more: Any) -> str:
    """ODK's indexed-repeat(node, repeat, n): the node in the n-th repeat instance (one level)."""
    values = nodes if isinstance(nodes, list) else [nodes]
    position = int(_number(index)) - 1
    return _string([values[position]]) if 0 <= position < len(values) else ""


#: (today, now) of the evaluation under way, in days since 1970 (:func:`evaluate` sets them): the compiled
#: expressions are kept once per expression, whatever "now" is.
_NOW: ContextVar[tuple[float, float]] = ContextVar("xpath_now", default=(math.nan, math.nan))


@lru_cache(maxsize=64)
def _clock(now: dt.datetime) -> tuple[float, float]:
    # today() is the date where the survey runs (settings.TIME_ZONE), not in UTC.
    local = now.astimezone(ZoneInfo(settings.TIME_ZONE))
    return float((local.date() - dt.date(1970, 1, 1)).days), (now - EPOCH).total_seconds() / 86400


@lru_cache(maxsize=1)
def _make_functions() -> dict[tuple[str | None, str], XPathFunction]:
    functions: dict[str, XPathFunction] = {
        "selected": lambda _c, values, choice: _string(choice).strip() in _tokens(values),
        "count-selected": lambda _c, values: float(len(_tokens(values))),
        "selected-at": lambda _c, values, index: (_tokens(values) + [""] * (int(_number(index)) + 1))[
            int(_number(index))],
        "if": lambda _c, condition, then, otherwise: then if _boolean(condition) else otherwise,
        "coalesce": lambda _c, first, second: _string(first) if _string(first) != "" else _string(second),
        "regex": lambda _c, value, pattern: re.search(_string(pattern), _string(value)) is not None,
        "today": lambda _c: _NOW.get()[0],
        "now": lambda _c: _NOW.get()[1],
        "int": lambda _c, value: float(math.trunc(_number(value))) if not math.isnan(_number(value)) else math.nan,
        "date": lambda _c, value: _number(value),
        "decimal-date-time": lambda _c, value: _number(value),
        "decimal-date": lambda _c, value: _number(value),
        "date-time": lambda _c, value: _number(value),
        "format-date": _format_date,
        "format-date-time": _format_date,
        "boolean-from-string": lambda _c, value: _string(value).strip() in ("true", "1"),
        "pow": lambda _c, base, exponent: math.pow(_number(base), _number(exponent)),
        "abs": lambda _c, value: abs(_number(value)),
        "exp": lambda _c, value: math.exp(_number(value)),
        "log": lambda _c, value: math.log(_number(value)) if _number(value) > 0 else math.nan,
        "log10": lambda _c, value: math.log10(_number(value)) if _number(value) > 0 else math.nan,
        "sqrt": lambda _c, value: math.sqrt(_number(value)) if _number(value) >= 0 else math.nan,
        "min": lambda _c, *values: min((_number(v) for vs in values for v in (vs if isinstance(vs, list) else [vs])),
                                       default=math.nan),
        "max": lambda _c, *values: max((_number(v) for vs in values for v in (vs if isinstance(vs, list) else [vs])),
                                       default=math.nan),
        "ends-with": lambda _c, value, suffix: _string(value).endswith(_string(suffix)),
        "substr": lambda _c, value, start, end=None: _string(value)[
            int(_number(start)): None if end is None else int(_number(end))],
        "join": lambda _c, separator, values: _string(separator).join(
            _string([v]) for v in (values if isinstance(values, list) else [values])),
        "uuid": lambda _c, *args: str(uuidlib.uuid4()),
        "count-non-empty": lambda _c, nodes: float(sum(1 for n in (nodes if isinstance(nodes, list) else [nodes])
                                                       if _string([n]).strip() != "")),
        "indexed-repeat": _indexed_repeat,
        "decimal-time": lambda _c, value: time_number(_string(value)) if time_number(_string(value)) is not None
        else math.nan,
        "once": lambda _c, value: value,
        "random": lambda _c: 0.5,  # validation must give the same verdict on every run
    }
    registered: dict[tuple[str | None, str], XPathFunction] = {(None, name): fn for name, fn in functions.items()}
    registered[(JR_NS, "choice-name")] = lambda _c, value, _node: _string(value)
    return registered


@lru_cache(maxsize=4096)
def _compiled(expression: str) -> etree.XPath:
    try:
        return etree.XPath(f"boolean({expression})", namespaces={"jr": JR_NS}, extensions=_make_functions(),
                           smart_strings=False)
    except etree.XPathSyntaxError as err:
        raise ExpressionError(f"The form's expression '{expression}' cannot be read: {err}") from None


def evaluate(expression: str, node: etree._Element, *, now: dt.datetime) -> bool:
    """The truth value of a form expression with ``node`` as the context (``.``)."""
    compiled = _compiled(expression)
    token = _NOW.set(_clock(now.replace(microsecond=0, second=0)))
    try:
        return bool(compiled(node))
    except etree.XPathEvalError as err:
        raise ExpressionError(f"The form's expression '{expression}' cannot be evaluated: {err}") from None
    finally:
        _NOW.reset(token)
