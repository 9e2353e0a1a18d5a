"""The read half of a round's tallies (:class:`surveys.models.RoundTally`,
kept by :mod:`surveys.services.tallies`): the cells as the report reads
them, the number questions' summaries worked out by the database, and the
same cells counted from records in memory (a breakdown not kept as tallies)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

from django.db import connection
from django.db.models import Q

from surveys.form_schema import FormSchema, SchemaField
from surveys.models import RoundTally, Submission
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
        for a number question (when it is one)."""
        out: list[int] = []
        append = out.append
        questions = self.questions
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
                if value.__class__ is not str:
                    append(self._value(path, seen, value, str))
                    continue
            elif value.__class__ not in (int, float):
                continue
            found = seen.get(value)
            append(found if found is not None else self._value(path, seen, value,
                                                                str if kind == _ONE else number_key))
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


# The numbers' summaries are worked out by the database from the value cells
# (a decimal question may have thousands of values in each group): sums for
# the mean and sd, running counts for the median.
_NUMBERS_SQL = """
WITH h AS (
  SELECT dimension, "group" AS grp, path, CAST(value AS {number}) AS v, SUM(count) AS c
  FROM surveys_roundtally
  WHERE round_id = %s AND form_id IN ({forms}) AND dimension IN ({dimensions}) AND path IN ({paths})
    AND value NOT LIKE '@%%' AND count > 0
  GROUP BY dimension, "group", path, value),
w AS (
  SELECT dimension, grp, path, v, c,
    SUM(c) OVER (PARTITION BY dimension, grp, path ORDER BY v ROWS UNBOUNDED PRECEDING) AS cum,
    SUM(c) OVER (PARTITION BY dimension, grp, path) AS n,
    SUM(c * v) OVER (PARTITION BY dimension, grp, path) AS s,
    SUM(c * v * v) OVER (PARTITION BY dimension, grp, path) AS ss,
    MIN(v) OVER (PARTITION BY dimension, grp, path) AS lo,
    MAX(v) OVER (PARTITION BY dimension, grp, path) AS hi
  FROM h)
SELECT dimension, grp, path, v, cum - c, cum, n, s, ss, lo, hi FROM w
WHERE cum - c <= CAST(n AS BIGINT) / 2 AND cum > (CAST(n AS BIGINT) - 1) / 2
"""


def round_tallies(*, round_id: int, form_ids: Iterable[str], dimensions: Iterable[str] = ("",),
                  numeric_paths: Iterable[str] = ()) -> Tallies:
    """The stored cells of the round's forms in the asked dimensions (forms
    summed); the number questions ``numeric_paths`` summarised by the database."""
    form_ids, dimensions, numeric_paths = list(form_ids), list(dimensions), list(numeric_paths)
    out = Tallies()
    rows = (RoundTally.objects.filter(round_id=round_id, form_id__in=form_ids, dimension__in=dimensions)
            .filter(Q(value__startswith="@") | ~Q(path__in=numeric_paths))
            .values_list("dimension", "group", "path", "value", "count"))
    for dimension, group, path, value, count in rows.iterator(chunk_size=5000):
        out.counts.setdefault((dimension, group), {}).setdefault(path, Counter())[value] += count
    if numeric_paths and form_ids and dimensions:
        _database_numbers(out, round_id, form_ids, dimensions, numeric_paths)
    return out


def _database_numbers(out: Tallies, round_id: int, form_ids: list[str], dimensions: list[str],
                      paths: list[str]) -> None:
    sql = _NUMBERS_SQL.format(number="NUMERIC" if connection.vendor == "postgresql" else "REAL",
                              forms=", ".join(["%s"] * len(form_ids)),
                              dimensions=", ".join(["%s"] * len(dimensions)), paths=", ".join(["%s"] * len(paths)))
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [round_id, *form_ids, *dimensions, *paths])
        for dimension, group, path, v, before, cum, n, s, ss, lo, hi in cursor.fetchall():
            entry = found.setdefault((dimension, group, path), {"n": int(n), "s": s, "ss": ss, "lo": lo, "hi": hi,
                                                                "at": []})
            entry["at"].append((int(before), int(cum), v))
    for (dimension, group, path), e in found.items():
        n = e["n"]
        median = (_at(e["at"], n // 2) if n % 2 else (Fraction(_at(e["at"], n // 2 - 1)) +
                                                       Fraction(_at(e["at"], n // 2))) / 2)
        out.numbers.setdefault((dimension, group), {})[path] = number_summary(
            n=n, total=Fraction(e["s"]), squares=Fraction(e["ss"]), low=e["lo"], high=e["hi"], median=median)


def _at(spans: list[tuple[int, int, Number]], k: int) -> Number:
    return next(v for before, cum, v in spans if before <= k < cum)


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
