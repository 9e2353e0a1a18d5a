"""The read half of a round's tallies (:class:`surveys.models.RoundTally`,
kept by :mod:`surveys.services.tallies`): the cells as the report reads
them, the number questions' summaries from their running sums and the few
bucket cells that hold their min, median and max (ADR 0021), and the same
cells counted from records in memory (a breakdown not kept as tallies)."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction
from functools import lru_cache
from itertools import accumulate
from typing import Any

from django.db import connection

from surveys.form_schema import FormSchema, SchemaField
from surveys.models import Submission
from surveys.round_report import NumberSummary
from surveys.round_settings import kept_breakdowns
from surveys.selectors.questionnaires import questionnaire_schema
from surveys.selectors.submissions import submission_counts

TABULATED = {"select_one", "select_multiple", "integer", "decimal", "range"}
NUMERIC = {"integer", "decimal", "range"}
NOT_TABULATED_PRIVACY = {"identifier", "pseudonym", "location"}
TOTAL = ("", "")
_ONE, _MULTIPLE, _NUMBER = 0, 1, 2
#: Cell key: (dimension, group, path, value).
Cell = tuple[str, str, str, str]
#: The groups a record counts in: (dimension, group) pairs, the whole round ``TOTAL`` first.
Groups = tuple[tuple[str, str], ...]
#: A number as the database or the records give it.
Number = int | float | Decimal | Fraction
#: A counted record as the tallies read it: (answers, paths asked but left empty, location code).
Record = tuple[dict[str, Any], Iterable[str], str | None]


@dataclass(frozen=True)
class TallyPlan:
    """What a questionnaire version's submissions add: its tabulated
    questions (path, type) and the breakdowns (dimension, path) kept."""

    questions: tuple[tuple[str, str], ...]
    breakdowns: tuple[tuple[str, str], ...]


def tabulated_questions(schema: FormSchema) -> list[SchemaField]:
    """The questions a round table shows: choices and numbers outside repeats, never identifying ones."""
    return [f for f in schema.get("fields", []) if f["type"] in TABULATED and not f.get("repeat")
            and f.get("privacy") not in NOT_TABULATED_PRIVACY]


def tally_plan(schema: FormSchema, report_by: Iterable[str]) -> TallyPlan:
    questions = tuple((f["path"], f["type"]) for f in tabulated_questions(schema))
    by_name = {f["name"]: f["path"] for f in schema.get("fields", []) if f["type"] == "select_one"
               and not f.get("repeat") and f.get("privacy") not in NOT_TABULATED_PRIVACY}
    breakdowns = tuple((name, by_name[name]) for name in dict.fromkeys(report_by) if name in by_name)
    return TallyPlan(questions, breakdowns)


@lru_cache(maxsize=256)
def _cached_plan(pk: int, key: str, report_by: tuple[str, ...]) -> TallyPlan:
    return tally_plan(questionnaire_schema(pk=pk, key=key), report_by)


def number_key(value: int | float) -> str:
    """A number as a cell value: 33 and 33.0 are the same cell."""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


#: A number question's bucket cells: ``@b:`` and the bucket (:func:`number_bucket`).
BUCKET = "@b:"


@lru_cache(maxsize=65536)
def number_bucket(value: str) -> str:
    """The bucket cell of a number (a cell value): the numbers of one sign
    with the same leading digit at the same magnitude (253.7 and 299 in
    ``@b:2e2``, i.e. [200, 300); -253.7 in ``@b:-2e2``, i.e. (-300, -200];
    0 alone in ``@b:0``). Buckets do not overlap and are ordered like their
    numbers: the report finds the bucket of the median (and of the min and
    max) from the bucket counts, then reads only those buckets' values. One
    digit, not two: a batch writes fewer bucket rows, a report reads a few
    more values."""
    number = Decimal(value)
    if not number:
        return f"{BUCKET}0"
    exponent = number.adjusted()
    leading = int(abs(number).scaleb(-exponent).to_integral_value(rounding=ROUND_FLOOR))
    return f"{BUCKET}{'-' if number < 0 else ''}{leading}e{exponent}"


@lru_cache(maxsize=65536)
def bucket_bounds(bucket: str) -> tuple[Decimal, Decimal]:
    """The lowest and highest number a bucket cell may hold (both inclusive: a superset of the bucket)."""
    key = bucket[len(BUCKET):]
    if key == "0":
        return Decimal(0), Decimal(0)
    negative = key.startswith("-")
    leading, exponent = key.lstrip("-").split("e")
    low, high = Decimal(int(leading)).scaleb(int(exponent)), Decimal(int(leading) + 1).scaleb(int(exponent))
    return (-high, -low) if negative else (low, high)


class CellIndex:
    """Numbers the (path, value) cells of a plan, so that counting a record is
    counting small integers (a rebuild of a million records in about a minute).
    :meth:`ids` is the one definition of what a record adds."""

    def __init__(self, plan: TallyPlan) -> None:
        self.keys: list[tuple[str, str]] = []
        self._ids: dict[tuple[str, str], int] = {}
        self.submissions = self.id("", "@n")
        kinds = {"select_one": _ONE, "select_multiple": _MULTIPLE}
        #: path → (kind, @asked id, @base id, @chosen id or -1, the ids of the values seen so far)
        self.questions: dict[str, tuple[int, int, int, int, dict[Any, int]]] = {
            path: (kinds.get(kind, _NUMBER), self.id(path, "@asked"), self.id(path, "@base"),
                   self.id(path, "@chosen") if kind == "select_multiple" else -1, {})
            for path, kind in plan.questions}
        #: The number questions' paths; a number value's id → its bucket's id.
        self.numbers = frozenset(path for path, kind in plan.questions if kinds.get(kind, _NUMBER) == _NUMBER)
        self._buckets: dict[int, int] = {}

    def id(self, path: str, value: str) -> int:
        key = (path, value)
        found = self._ids.get(key)
        if found is None:
            found = self._ids[key] = len(self.keys)
            self.keys.append(key)
        return found

    def _value(self, path: str, seen: dict[Any, int], value: Any, text: Callable[[Any], str]) -> int:
        try:
            found = seen.get(value)
        except TypeError:  # an unhashable answer: counted by its text
            return self.id(path, text(value))
        if found is None:
            found = seen[value] = self.id(path, text(value))
        return found

    def ids(self, answers: dict[str, Any], unanswered: Iterable[str]) -> list[int]:
        """The cells one counted record adds to each of its groups, once per
        count: its shape's (:meth:`shape_ids`) and its values' (:meth:`value_ids`)."""
        return self.shape_ids(tuple(answers), tuple(unanswered)) + self.value_ids(answers)

    def shape_ids(self, answered: tuple[str, ...], unanswered: tuple[str, ...]) -> list[int]:
        """``@n``; ``@asked`` and ``@base`` of each question answered;
        ``@asked`` of each question asked but left empty. Records of one
        shape (the same questions answered and skipped) add the same cells,
        so a rebuild counts shapes, not these cells one by one."""
        out = [self.submissions]
        questions = self.questions
        for path in answered:
            question = questions.get(path)
            if question is not None:
                out += question[1:3]
        present = set(answered)
        for path in unanswered:
            question = questions.get(path)
            if question is not None and path not in present:
                out.append(question[1])
        return out

    def value_ids(self, answers: dict[str, Any]) -> list[int]:
        """The value of each answered question: its choice, each option
        chosen (and ``@chosen`` as often) for a select_multiple, the number
        and its bucket (:func:`number_bucket`) for a number question (when it is one)."""
        out: list[int] = []
        append = out.append
        questions = self.questions
        buckets = self._buckets
        for path, value in answers.items():
            question = questions.get(path)
            if question is None:
                continue
            kind, _, _, chosen_id, seen = question
            if kind == _MULTIPLE:
                chosen = value if isinstance(value, list) else [value]
                out += [self._value(path, seen, option, str) for option in chosen]
                out += [chosen_id] * len(chosen)
                continue
            if kind == _ONE:
                found = seen.get(value) if value.__class__ is str else None
                append(found if found is not None else self._value(path, seen, value, str))
                continue
            if value.__class__ not in (int, float):
                continue
            found = seen.get(value)
            if found is None:
                found = self._value(path, seen, value, number_key)
                buckets[found] = self.id(path, number_bucket(self.keys[found][1]))
            append(found)
            append(buckets[found])
        return out


@lru_cache(maxsize=256)
def cell_index(plan: TallyPlan) -> CellIndex:
    return CellIndex(plan)


def record_items(answers: dict[str, Any], unanswered: Iterable[str], plan: TallyPlan) -> list[tuple[str, str]]:
    """(path, value) of every cell one counted record adds to each of its groups (see :meth:`CellIndex.ids`)."""
    index = cell_index(plan)
    return [index.keys[i] for i in index.ids(answers, unanswered)]


def record_groups(answers: dict[str, Any], location: str | None, plan: TallyPlan) -> Groups:
    """The groups a record belongs to: the whole round, its location, its answer to each breakdown question."""
    groups = [TOTAL]
    if location:
        groups.append(("location", location))
    for dimension, path in plan.breakdowns:
        value = answers.get(path)
        if isinstance(value, str):
            groups.append((dimension, value))
    return tuple(groups)


def record_cells(*, answers: dict[str, Any], unanswered: Iterable[str], location: str | None,
                 plan: TallyPlan) -> Counter[Cell]:
    """The cells one counted record adds, in every breakdown of ``plan``."""
    items = Counter(record_items(answers, unanswered, plan))
    cells: Counter[Cell] = Counter()
    for dimension, group in record_groups(answers, location, plan):
        for (path, value), n in items.items():
            cells[(dimension, group, path, value)] += n
    return cells


def submission_cells(submission: Submission) -> Counter[Cell]:
    """What ``submission`` adds to its round as it stands (nothing when it does not count)."""
    if not submission_counts(submission):
        return Counter()
    questionnaire = submission.questionnaire
    plan = _cached_plan(questionnaire.pk, questionnaire.schema_key, kept_breakdowns(submission.round))
    return record_cells(answers=submission.answers or {}, unanswered=submission.unanswered or (),
                        location=_location_code(submission.location_id), plan=plan)


def submission_number_paths(submission: Submission) -> frozenset[str]:
    """The number questions' paths of ``submission``'s form version (their cells move the running sums)."""
    questionnaire = submission.questionnaire
    plan = _cached_plan(questionnaire.pk, questionnaire.schema_key, kept_breakdowns(submission.round))
    return cell_index(plan).numbers


@lru_cache(maxsize=1024)
def _location_code(location_id: int | None) -> str | None:
    if location_id is None:
        return None
    from surveys.models import Location

    return Location.objects.filter(pk=location_id).values_list("code", flat=True).first()





@dataclass
class Tallies:
    """A round's cells as the report reads them: ``counts[(dimension, group)][path]``
    (choices and the ``@`` counters) and ``numbers[(dimension, group)][path]``
    (n, mean, median, min, max, sd of a number question)."""

    counts: dict[tuple[str, str], dict[str, Counter[str]]] = field(default_factory=dict)
    numbers: dict[tuple[str, str], dict[str, NumberSummary]] = field(default_factory=dict)

    def counted(self, group: tuple[str, str], path: str) -> Counter[str]:
        return self.counts.get(group, {}).get(path) or Counter()

    def summary(self, group: tuple[str, str], path: str) -> NumberSummary:
        return self.numbers.get(group, {}).get(path) or no_numbers()


def no_numbers() -> NumberSummary:
    """The figures of a number question nobody answered."""
    return {"mean": None, "median": None, "min": None, "max": None, "sd": None}


def round_tallies(*, round_id: int, form_ids: Iterable[str], dimensions: Iterable[str] = ("",),
                  numeric_paths: Iterable[str] = ()) -> Tallies:
    """The stored cells of the round's forms in the asked dimensions (forms
    summed); the number questions ``numeric_paths`` summarised from their
    running sums and the few values their order statistics need (:func:`_kept_numbers`)."""
    form_ids, dimensions, numeric_paths = list(form_ids), list(dimensions), list(numeric_paths)
    out = Tallies()
    if not form_ids or not dimensions:
        return out
    counts = out.counts
    for dimension, group, path, value, count in _rows(_CELLS, round_id, form_ids, dimensions, numeric_paths):
        by_path = counts.get((dimension, group))
        if by_path is None:
            by_path = counts[(dimension, group)] = {}
        counted = by_path.get(path)
        if counted is None:
            counted = by_path[path] = Counter()
        counted[value] += count
    if numeric_paths:
        _kept_numbers(out, round_id, form_ids, dimensions, numeric_paths)
    return out


# Every cell but the number questions' values (``number IS NULL``: the small partial index
# round_tally_counts); fixed statement, "group" quoted (a reserved word).
_CELLS = """
SELECT dimension, "group", path, value, count FROM surveys_roundtally
WHERE round_id = %s AND form_id IN ({forms}) AND dimension IN ({dimensions}) AND number IS NULL
  AND (value LIKE '@%%' OR path NOT IN ({paths}))
"""

#: (dimension, group, path) of a number question in one group.
NumberKey = tuple[str, str, str]


def _kept_numbers(out: Tallies, round_id: int, form_ids: list[str], dimensions: list[str],
                  paths: list[str]) -> None:
    """The number questions' figures in each group, exact: n, the mean and
    sd from the running sums (:class:`surveys.models.RoundNumberTally`);
    min, median and max from the bucket counts (already in ``out``) and the
    values of the two to four buckets that hold them, read by range."""
    sums: dict[NumberKey, list[Any]] = {}
    for dimension, group, path, n, total, squares in _rows(
            "SELECT dimension, \"group\", path, n, total, squares FROM surveys_roundnumbertally"
            " WHERE round_id = %s AND form_id IN ({forms}) AND dimension IN ({dimensions}) AND path IN ({paths})",
            round_id, form_ids, dimensions, paths):
        found = sums.setdefault((dimension, group, path), [0, Fraction(0), Fraction(0)])
        found[0] += n
        found[1] += Fraction(total)
        found[2] += Fraction(squares)
    located: dict[NumberKey, list[tuple[str, int]]] = {}
    for key, (n, _, _) in sums.items():
        if n > 0:
            counted = out.counted(key[:2], key[2])
            buckets = sorted((bucket_bounds(b)[0], b, c) for b, c in counted.items() if b.startswith(BUCKET) and c > 0)
            # the lowest, the highest, and the one or two in the middle
            located[key] = _locate(buckets, (0, n - 1, n // 2) if n % 2 else (0, n - 1, n // 2 - 1, n // 2))
    values = _values_at(round_id, form_ids, {(key, bucket, rank) for key, at in located.items() for bucket, rank in at})
    for key, at in located.items():
        n, total, squares = sums[key]
        low, high, *middle = (values[(key, bucket, rank)] for bucket, rank in at)
        median: Number = middle[0] if len(middle) == 1 else (Fraction(middle[0]) + Fraction(middle[1])) / 2
        out.numbers.setdefault(key[:2], {})[key[2]] = number_summary(
            n=n, total=total, squares=squares, low=low, high=high, median=median)


def _rows(sql: str, round_id: int, form_ids: list[str], dimensions: list[str], paths: list[str]) -> list[Any]:
    paths = paths or [""]
    marks = {"forms": form_ids, "dimensions": dimensions, "paths": paths}
    with connection.cursor() as cursor:
        cursor.execute(sql.format(**{k: ", ".join(["%s"] * len(v)) for k, v in marks.items()}),
                       [round_id, *form_ids, *dimensions, *paths])
        return list(cursor.fetchall())


def _locate(buckets: list[tuple[Decimal, str, int]], ranks: Iterable[int]) -> list[tuple[str, int]]:
    """(bucket, rank within it) of each rank (0 the lowest number) among the ordered bucket counts."""
    ends = list(accumulate(count for _, _, count in buckets))
    out = []
    for k in ranks:
        i = bisect_right(ends, k)
        if i == len(buckets):
            raise LookupError(f"the bucket counts hold no number at rank {k}: rebuild the tallies")
        out.append((buckets[i][1], k - (ends[i - 1] if i else 0)))
    return out


# The value at a rank within a bucket, found by the database: the bucket's cells read by range on the
# number cells' index, counted up in number order (the ``number`` of a cell orders exactly as its
# value: values are floats written shortest-first), only the cell holding the rank returned. Fixed
# statement; "group" is a reserved word. PostgreSQL takes the ranks asked for as arrays (one short
# statement), SQLite as a VALUES list.
_VALUES_AT = """
WITH b(i, dimension, grp, path, lo, hi, k) AS ({wanted}),
v AS (
  SELECT b.i, b.k, t.value, t.count,
         SUM(t.count) OVER (PARTITION BY b.i ORDER BY t.number, t.form_id ROWS UNBOUNDED PRECEDING) AS cum
  FROM b JOIN surveys_roundtally t
    ON t.round_id = %s AND t.form_id IN ({forms}) AND t.dimension = b.dimension AND t."group" = b.grp
    AND t.path = b.path AND t.number >= b.lo AND t.number <= b.hi
  WHERE t.count > 0)
SELECT i, value FROM v WHERE cum - count <= k AND k < cum
"""
_WANTED_ARRAYS = ("SELECT * FROM unnest(%s::int[], %s::text[], %s::text[], %s::text[], %s::float8[], %s::float8[], "
                  "%s::bigint[])")


def _float_bounds(bucket: str) -> tuple[float, float]:
    """A bucket's numbers as an inclusive range of floats (a cell's ``number``): [low, high) for a
    positive bucket, (low, high] for a negative one (a float compares with a one-digit bound as its
    shortest text does)."""
    low, high = bucket_bounds(bucket)
    if not low and not high:
        return 0.0, 0.0
    if high > 0:
        return float(low), math.nextafter(float(high), -math.inf)
    return math.nextafter(float(low), math.inf), float(high)


def _values_at(round_id: int, form_ids: list[str],
               wanted: set[tuple[NumberKey, str, int]]) -> dict[tuple[NumberKey, str, int], Decimal]:
    """The number at each (question in a group, bucket, rank within the bucket) asked for (forms summed)."""
    asked = sorted(wanted)
    if not asked:  # no number question answered in any group
        return {}
    arrays = connection.vendor == "postgresql"
    size = len(asked) if arrays else 100
    out: dict[tuple[NumberKey, str, int], Decimal] = {}
    for start in range(0, len(asked), size):
        rows = [(i, *key, *_float_bounds(bucket), rank)
                for i, (key, bucket, rank) in enumerate(asked[start:start + size], start)]
        params: list[Any]
        if arrays:
            sql, params = _WANTED_ARRAYS, [list(column) for column in zip(*rows, strict=True)]
        else:
            sql, params = "VALUES " + ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(rows)), [
                v for row in rows for v in row]
        with connection.cursor() as cursor:
            cursor.execute(_VALUES_AT.format(wanted=sql, forms=", ".join(["%s"] * len(form_ids))),
                           [*params, round_id, *form_ids])
            for i, value in cursor.fetchall():
                key, bucket, rank = asked[i]
                if number_bucket(value) != bucket:
                    raise LookupError(f"the tallies of {key} hold {value} within {bucket}: rebuild them")
                out[(key, bucket, rank)] = Decimal(value)
    missing = wanted - out.keys()
    if missing:
        raise LookupError(f"the tallies hold no number at {min(missing)}: rebuild them")
    return out


def number_summary(*, n: int, total: Fraction, squares: Fraction, low: Number, high: Number,
                   median: Number) -> NumberSummary:
    """Mean, median, min, max and sample sd from exact sums (same figures whichever way they were counted)."""
    if not n:
        return no_numbers()
    mean = total / n
    sd = 0.0
    if n > 1:
        sd = round(math.sqrt(max(Fraction(0), (squares - total * total / n) / (n - 1))), 2)
    return {"mean": round(float(mean), 2), "median": _plain(median), "min": _plain(low), "max": _plain(high),
            "sd": sd}


def _plain(value: Number) -> float | int:
    value = float(value)
    return int(value) if value.is_integer() else round(value, 2)


def records_tallies(records: Iterable[Record], *, schema: FormSchema, by: str | None) -> Tallies:
    """The same cells counted in memory from records (for a breakdown that is not kept current)."""
    plan = tally_plan(schema, [by] if by and by != "location" else [])
    numeric = {path for path, kind in plan.questions if kind in NUMERIC}
    cells: Counter[Cell] = Counter()
    for answers, unanswered, location in records:
        cells.update(record_cells(answers=answers, unanswered=unanswered, location=location, plan=plan))
    out = Tallies()
    histograms: dict[tuple[str, str, str], dict[Fraction, int]] = {}
    for (dimension, group, path, value), n in cells.items():
        if path in numeric and not value.startswith("@"):
            histograms.setdefault((dimension, group, path), {})[Fraction(value)] = n
        else:
            out.counts.setdefault((dimension, group), {}).setdefault(path, Counter())[value] += n
    for (dimension, group, path), histogram in histograms.items():
        values = sorted(histogram)
        n = sum(histogram.values())

        def nth(k: int, values: list[Fraction] = values, histogram: dict[Fraction, int] = histogram) -> Fraction:
            seen = 0
            for v in values:
                seen += histogram[v]
                if k < seen:
                    return v
            return values[-1]

        median = nth(n // 2) if n % 2 else (nth(n // 2 - 1) + nth(n // 2)) / 2
        out.numbers.setdefault((dimension, group), {})[path] = number_summary(
            n=n, total=sum((v * k for v, k in histogram.items()), Fraction(0)),
            squares=sum((v * v * k for v, k in histogram.items()), Fraction(0)), low=values[0], high=values[-1],
            median=median)
    return out
