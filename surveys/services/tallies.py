"""A round's running tallies: the counts the round tables are served from.

Every counted submission (see :func:`surveys.selectors.submission_counts`)
adds its *cells* to its round: for each tabulated question, ``@asked``
(relevant), ``@base`` (answered) and one per value given (a choice, each
option of a select_multiple plus ``@chosen`` for how many, or the number),
once for the whole round and once more in each breakdown kept current (its
location, and each of the round's ``report_by`` questions). Cells are plain
integer counts, so adding and taking away is exact: the tallies after any
sequence of processing, reviews and edits equal a rebuild from the records.

Writers hold the submission's row lock and call :func:`tally_before` before
they change it and :func:`tally_after` when done; the difference is applied
in one statement for the increments and one for the decrements, in key
order (no deadlocks between workers). A rebuild takes the round's row lock,
processing a share lock (PostgreSQL), so neither sees the other half-done.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.db import connection, transaction

from surveys.models import Questionnaire, Round, RoundTally, Submission
from surveys.selectors import counted_submissions, questionnaire_schema, submission_counts

TABULATED = {"select_one", "select_multiple", "integer", "decimal", "range"}
NUMERIC = {"integer", "decimal", "range"}
NOT_TABULATED_PRIVACY = {"identifier", "pseudonym", "location"}
TOTAL = ("", "")
#: Cell key: (dimension, group, path, value).
Cell = tuple[str, str, str, str]


@dataclass(frozen=True)
class TallyPlan:
    """What a questionnaire version's submissions add: its tabulated
    questions (path, type) and the breakdowns (dimension, path) kept."""

    questions: tuple[tuple[str, str], ...]
    breakdowns: tuple[tuple[str, str], ...]


def tabulated_questions(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The questions a round table shows: choices and numbers outside repeats, never identifying ones."""
    return [f for f in schema.get("fields", []) if f["type"] in TABULATED and not f.get("repeat")
            and f.get("privacy") not in NOT_TABULATED_PRIVACY]


def tally_plan(schema: dict[str, Any], report_by: Iterable[str]) -> TallyPlan:
    questions = tuple((f["path"], f["type"]) for f in tabulated_questions(schema))
    by_name = {f["name"]: f["path"] for f in schema.get("fields", []) if f["type"] == "select_one"
               and not f.get("repeat") and f.get("privacy") not in NOT_TABULATED_PRIVACY}
    breakdowns = tuple((name, by_name[name]) for name in dict.fromkeys(report_by) if name in by_name)
    return TallyPlan(questions, breakdowns)


@lru_cache(maxsize=256)
def _cached_plan(pk: int, md5: str, report_by: tuple[str, ...]) -> TallyPlan:
    return tally_plan(questionnaire_schema(pk=pk, md5=md5), report_by)


def number_key(value: int | float) -> str:
    """A number as a cell value: 33 and 33.0 are the same cell."""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def record_cells(*, answers: dict[str, Any], unanswered: Iterable[str], location: str | None,
                 plan: TallyPlan) -> Counter[Cell]:
    """The cells one counted record adds, in every breakdown of ``plan``."""
    own: list[tuple[str, str, int]] = [("", "@n", 1)]
    skipped = set(unanswered)
    for path, kind in plan.questions:
        if path in answers:
            value = answers[path]
            own += [(path, "@asked", 1), (path, "@base", 1)]
            if kind == "select_multiple":
                chosen = value if isinstance(value, list) else [value]
                own += [(path, str(option), 1) for option in chosen]
                own.append((path, "@chosen", len(chosen)))
            elif kind == "select_one":
                own.append((path, str(value), 1))
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                own.append((path, number_key(value), 1))
        elif path in skipped:
            own.append((path, "@asked", 1))
    groups = [TOTAL]
    if location:
        groups.append(("location", location))
    for dimension, path in plan.breakdowns:
        value = answers.get(path)
        if isinstance(value, str):
            groups.append((dimension, value))
    cells: Counter[Cell] = Counter()
    for dimension, group in groups:
        for path, value, n in own:
            cells[(dimension, group, path, value)] += n
    return cells


def submission_cells(submission: Submission) -> Counter[Cell]:
    """What ``submission`` adds to its round as it stands (nothing when it does not count)."""
    if not submission_counts(submission):
        return Counter()
    questionnaire = submission.questionnaire
    plan = _cached_plan(questionnaire.pk, questionnaire.md5, tuple(submission.round.report_by or ()))
    return record_cells(answers=submission.answers or {}, unanswered=submission.unanswered or (),
                        location=_location_code(submission.location_id), plan=plan)


@lru_cache(maxsize=1024)
def _location_code(location_id: int | None) -> str | None:
    if location_id is None:
        return None
    from surveys.models import Location

    return Location.objects.filter(pk=location_id).values_list("code", flat=True).first()


def tally_before(submission: Submission) -> Counter[Cell]:
    """What ``submission`` (locked) has added so far; call before changing it."""
    _share_round(submission.round_id)
    return submission_cells(submission) if submission.tallied else Counter()


def tally_after(submission: Submission, before: Counter[Cell]) -> bool:
    """Correct the round's tallies for ``submission`` as it stands now
    (inside the writer's transaction); returns whether anything changed."""
    after = submission_cells(submission)
    counts = bool(after) or submission_counts(submission)
    delta = Counter(after)
    delta.subtract(before)
    changed = _apply(submission.round_id, submission.form_id, delta)
    if submission.tallied != counts:
        Submission.objects.filter(pk=submission.pk).update(tallied=counts)
        submission.tallied = counts
        changed = True
    return changed


def _share_round(round_id: int) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM surveys_round WHERE id = %s FOR SHARE", [round_id])


# Fixed statements (only placeholders vary); "group" is quoted, a reserved word in both databases.
_KEY = 'round_id, form_id, dimension, "group", path, value'
_ADD = ('INSERT INTO surveys_roundtally (round_id, form_id, dimension, "group", path, value, count) '  # noqa: S608
        f"VALUES {{rows}} ON CONFLICT ({_KEY}) DO UPDATE SET count = surveys_roundtally.count + EXCLUDED.count")
_WHERE = 'round_id = %s AND form_id = %s AND dimension = %s AND "group" = %s AND path = %s AND value = %s'
_TAKE = f"UPDATE surveys_roundtally SET count = count - %s WHERE {_WHERE}"  # noqa: S608
_DROP = f"DELETE FROM surveys_roundtally WHERE {_WHERE} AND count = 0"  # noqa: S608


def _apply(round_id: int, form_id: str, delta: Counter[Cell]) -> bool:
    ups = sorted((key, n) for key, n in delta.items() if n > 0)
    downs = sorted((key, -n) for key, n in delta.items() if n < 0)
    with connection.cursor() as cursor:
        for start in range(0, len(ups), 100):
            batch = ups[start:start + 100]
            cursor.execute(_ADD.format(rows=", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(batch))),
                           [v for (d, g, p, val), n in batch for v in (round_id, form_id, d, g, p, val, n)])
        if downs:
            cursor.executemany(_TAKE, [(n, round_id, form_id, *key) for key, n in downs])
            cursor.executemany(_DROP, [(round_id, form_id, *key) for key, _ in downs])
    return bool(ups or downs)


@transaction.atomic
def round_tally_rebuild(*, round_id: int) -> int:
    """Recount the round's tallies from its stored records; returns the
    number of submissions counted. Running it twice gives the same rows."""
    round_ = Round.objects.select_for_update().get(pk=round_id)
    totals: dict[str, Counter[Cell]] = {}
    plans: dict[int, TallyPlan] = {}
    report_by = tuple(round_.report_by or ())
    for questionnaire in Questionnaire.objects.filter(round=round_).only("pk", "md5", "form_id"):
        plans[questionnaire.pk] = _cached_plan(questionnaire.pk, questionnaire.md5, report_by)
    counted = 0
    rows = (counted_submissions(round_id=round_id)
            .values_list("questionnaire_id", "form_id", "answers", "unanswered", "location__code"))
    for questionnaire_id, form_id, answers, unanswered, location in rows.iterator(chunk_size=2000):
        cells = totals.setdefault(form_id, Counter())
        cells.update(record_cells(answers=answers or {}, unanswered=unanswered or (), location=location,
                                  plan=plans[questionnaire_id]))
        counted += 1
    RoundTally.objects.filter(round=round_).delete()
    RoundTally.objects.bulk_create(
        (RoundTally(round=round_, form_id=form_id, dimension=d, group=g, path=p, value=v, count=n)
         for form_id, cells in totals.items() for (d, g, p, v), n in sorted(cells.items()) if n),
        batch_size=2000)
    Submission.objects.filter(round=round_).exclude(pk__in=counted_submissions(round_id=round_id).values("pk")) \
        .filter(tallied=True).update(tallied=False)
    counted_submissions(round_id=round_id).filter(tallied=False).update(tallied=True)
    return counted


def round_tallies(*, round_id: int, form_ids: Iterable[str],
                  dimensions: Iterable[str] = ("",)) -> dict[tuple[str, str], dict[str, Counter[str]]]:
    """The stored cells of the round's forms in the asked dimensions, as
    {(dimension, group): {path: Counter(value → count)}} (forms summed)."""
    out: dict[tuple[str, str], dict[str, Counter[str]]] = {}
    rows = RoundTally.objects.filter(round_id=round_id, form_id__in=list(form_ids),
                                     dimension__in=list(dimensions)).values_list(
        "dimension", "group", "path", "value", "count")
    for dimension, group, path, value, count in rows.iterator(chunk_size=5000):
        out.setdefault((dimension, group), {}).setdefault(path, Counter())[value] += count
    return out


def records_tallies(records: Iterable[tuple[dict[str, Any], Iterable[str], str | None]], *, schema: dict[str, Any],
                    by: str | None) -> dict[tuple[str, str], dict[str, Counter[str]]]:
    """The same cells computed in memory from records (for a breakdown that is not kept current)."""
    plan = tally_plan(schema, [by] if by and by != "location" else [])
    cells: Counter[Cell] = Counter()
    for answers, unanswered, location in records:
        cells.update(record_cells(answers=answers, unanswered=unanswered, location=location, plan=plan))
    out: dict[tuple[str, str], dict[str, Counter[str]]] = {}
    for (dimension, group, path, value), n in cells.items():
        out.setdefault((dimension, group), {}).setdefault(path, Counter())[value] += n
    return out
