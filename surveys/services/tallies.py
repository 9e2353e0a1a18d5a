"""A round's running tallies: the counts the round tables are served from.

Every counted submission (see :func:`surveys.selectors.submissions.submission_counts`)
adds its *cells* to its round: for each tabulated question, ``@asked``
(relevant), ``@base`` (answered) and one per value given (a choice, each
option of a select_multiple plus ``@chosen`` for how many, or the number
and its bucket ``@b:…``), once for the whole round and once more in each
breakdown kept current (its location, its sex question and each of its
``report_by`` questions: :func:`surveys.round_settings.kept_breakdowns`).
A number's value cell also carries the number (``RoundTally.number``) and
moves its group's running sums (:class:`surveys.models.RoundNumberTally`:
n, total, total of squares; ADR 0021). Cells are plain integer counts and
the sums exact, so adding and taking away is exact: the tallies after any
sequence of processing, reviews and edits equal a rebuild from the records.

Writers hold the submission's row lock and call :func:`tally_before` before
they change it and :func:`tally_after` when done; the difference is applied
in one statement for the increments and one for the decrements, in key
order (no deadlocks between workers). A rebuild takes the round's row lock,
processing a share lock (PostgreSQL), so neither sees the other half-done.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal, localcontext
from itertools import groupby
from typing import Any

import orjson
from django.db import connection, transaction
from django.db.models import Case, TextField, Value, When

from surveys.models import Questionnaire, Round, RoundNumberTally, RoundTally, Submission
from surveys.round_settings import kept_breakdowns
from surveys.selectors.submissions import COUNTED, JsonText, submission_counts
from surveys.selectors.tallies import (
    Cell,
    Groups,
    TallyPlan,
    _cached_plan,
    cell_index,
    record_groups,
    submission_cells,
    submission_number_paths,
)


def tally_before(submission: Submission, *, shared: set[int] | None = None) -> Counter[Cell]:
    """What ``submission`` (locked) has added so far; call before changing it. ``shared`` are the rounds
    already share-locked in this transaction (a batch locks each once)."""
    if shared is None or submission.round_id not in shared:
        _share_round(submission.round_id)
        if shared is not None:
            shared.add(submission.round_id)
    return submission_cells(submission) if submission.tallied else Counter()


def tally_after(submission: Submission, before: Counter[Cell], *, into: TallyDelta | None = None) -> bool:
    """Correct the round's tallies for ``submission`` as it stands now
    (inside the writer's transaction); returns whether anything changed.
    With ``into`` (a batch), the difference is added there, written by :meth:`TallyDelta.write`."""
    after = submission_cells(submission)
    counts = bool(after) or submission_counts(submission)
    delta = Counter(after)
    delta.subtract(before)
    numbers = submission_number_paths(submission)
    if into is not None:
        changed = into.add(submission.round_id, submission.form_id, delta, numbers)
    else:
        changed = _apply(submission.round_id, submission.form_id, delta, numbers)
    if submission.tallied != counts:
        if into is not None:
            into.tallied[submission.pk] = counts
        else:
            Submission.objects.filter(pk=submission.pk).update(tallied=counts)
        submission.tallied = counts
        changed = True
    return changed


class TallyDelta:
    """Tally differences summed over a batch of submissions, by round and form, and the submissions'
    new ``tallied`` flags; :meth:`write` applies them (one upsert of arrays per round and form on PostgreSQL, in
    key order)."""

    def __init__(self) -> None:
        self.cells: dict[tuple[int, str], Counter[Cell]] = {}
        #: The number questions' paths of each round and form (their cells also move the running sums).
        self.numbers: dict[tuple[int, str], frozenset[str]] = {}
        self.tallied: dict[int, bool] = {}
        #: Rounds share-locked in this transaction.
        self.shared: set[int] = set()

    def add(self, round_id: int, form_id: str, delta: Counter[Cell], numbers: frozenset[str] = frozenset()) -> bool:
        moved = {key: n for key, n in delta.items() if n}
        if moved:
            self.cells.setdefault((round_id, form_id), Counter()).update(moved)
            known = self.numbers.get((round_id, form_id), frozenset())
            if not numbers <= known:
                self.numbers[(round_id, form_id)] = known | numbers
        return bool(moved)

    def merge(self, other: TallyDelta) -> None:
        for key, delta in other.cells.items():
            self.add(*key, delta, other.numbers.get(key, frozenset()))
        self.tallied.update(other.tallied)

    def write(self) -> None:
        for (round_id, form_id), delta in sorted(self.cells.items()):
            _apply(round_id, form_id, delta, self.numbers.get((round_id, form_id), frozenset()))
        for value in (True, False):
            pks = sorted(pk for pk, flag in self.tallied.items() if flag is value)
            for start in range(0, len(pks), 1000):
                Submission.objects.filter(pk__in=pks[start:start + 1000]).update(tallied=value)
        self.cells.clear()
        self.numbers.clear()
        self.tallied.clear()


def _share_round(round_id: int) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM surveys_round WHERE id = %s FOR SHARE", [round_id])


# Fixed statements (only placeholders vary); "group" is quoted, a reserved word in both databases.
_KEY = 'round_id, form_id, dimension, "group", path, value'
# Increments: on PostgreSQL one statement of arrays for the whole batch ({rows} is
# "SELECT %s, %s, * FROM unnest(%s::text[], …)"), elsewhere VALUES lists of 100 rows.
_ADD = ('INSERT INTO surveys_roundtally (round_id, form_id, dimension, "group", path, value, count, number) '
        f"{{rows}} ON CONFLICT ({_KEY}) DO UPDATE SET count = surveys_roundtally.count + EXCLUDED.count")
_ADD_TYPES = ("text", "text", "text", "text", "bigint", "float8")
_WHERE = 'round_id = %s AND form_id = %s AND dimension = %s AND "group" = %s AND path = %s AND value = %s'
_COPY = ('COPY surveys_roundtally (round_id, form_id, dimension, "group", path, value, count, number) '
         "FROM STDIN")
_TAKE = f"UPDATE surveys_roundtally SET count = count - %s WHERE {_WHERE}"  # noqa: S608
_DROP = f"DELETE FROM surveys_roundtally WHERE {_WHERE} AND count = 0"  # noqa: S608
_SUMS = "surveys_roundnumbertally"
_ADD_SUMS = (f'INSERT INTO {_SUMS} (round_id, form_id, dimension, "group", path, n, total, squares) '
             f'{{rows}} ON CONFLICT (round_id, form_id, dimension, "group", path) DO UPDATE SET '
             f"n = {_SUMS}.n + EXCLUDED.n, total = {_SUMS}.total + EXCLUDED.total, "
             f"squares = {_SUMS}.squares + EXCLUDED.squares")
_ADD_SUMS_TYPES = ("text", "text", "text", "bigint", "numeric", "numeric")
_WHERE_SUMS = 'round_id = %s AND form_id = %s AND dimension = %s AND "group" = %s AND path = %s'
_TAKE_SUMS = (f"UPDATE {_SUMS} SET n = n + %s, total = total + %s, squares = squares + %s "  # noqa: S608
              f"WHERE {_WHERE_SUMS}")
_DROP_SUMS = f"DELETE FROM {_SUMS} WHERE {_WHERE_SUMS} AND n = 0"  # noqa: S608
_COPY_SUMS = f'COPY {_SUMS} (round_id, form_id, dimension, "group", path, n, total, squares) FROM STDIN'

#: A number question's running sums in one group: n, total, total of squares.
Sums = tuple[int, Decimal, Decimal]


def _number(path: str, value: str, numbers: frozenset[str]) -> float | None:
    """The ``number`` column of a cell: its value as a number for a number question's value, else null."""
    return float(value) if path in numbers and not value.startswith("@") else None


def _sums(cells: Counter[Cell], numbers: frozenset[str]) -> dict[tuple[str, str, str], Sums]:
    """What the number questions' value cells in ``cells`` add to their groups' running sums (exact)."""
    out: dict[tuple[str, str, str], list[Any]] = {}
    with localcontext(prec=100):
        for (dimension, group, path, value), n in cells.items():
            if not n or path not in numbers or value.startswith("@"):
                continue
            number = Decimal(value)
            found = out.get((dimension, group, path))
            if found is None:
                found = out[(dimension, group, path)] = [0, Decimal(0), Decimal(0)]
            found[0] += n
            found[1] += n * number
            found[2] += n * number * number
    return {key: (n, total, squares) for key, (n, total, squares) in out.items() if n or total or squares}


def _apply(round_id: int, form_id: str, delta: Counter[Cell], numbers: frozenset[str] = frozenset()) -> bool:
    """Add ``delta`` to the stored cells (and the number questions' running
    sums), touching rows in key order (one order for every writer:
    concurrent workers cannot deadlock on them)."""
    changes = sorted((key, n) for key, n in delta.items() if n)
    with connection.cursor() as cursor:
        for sign, same_sign in groupby(changes, key=lambda item: item[1] > 0):
            run = list(same_sign)
            if sign:
                _insert(cursor, _ADD, _ADD_TYPES, (round_id, form_id),
                        [(d, g, p, val, n, _number(p, val, numbers)) for (d, g, p, val), n in run])
            else:
                cursor.executemany(_TAKE, [(-n, round_id, form_id, *key) for key, n in run])
                cursor.executemany(_DROP, [(round_id, form_id, *key) for key, _ in run])
        moved_sums = sorted(_sums(Counter(dict(changes)), numbers).items())
        added = [(*group, *moved) for group, moved in moved_sums if moved[0] >= 0]
        if added:
            _insert(cursor, _ADD_SUMS, _ADD_SUMS_TYPES, (round_id, form_id), added)
        taken = [(group, moved) for group, moved in moved_sums if moved[0] < 0]
        if taken:  # an update, not an upsert: the row is there, and n may not go below 0 even in passing
            cursor.executemany(_TAKE_SUMS, [(*moved, round_id, form_id, *group) for group, moved in taken])
            cursor.executemany(_DROP_SUMS, [(round_id, form_id, *group) for group, _ in taken])
    return bool(changes)


def _insert(cursor: Any, statement: str, types: tuple[str, ...], fixed: tuple[Any, ...],
            rows: list[tuple[Any, ...]]) -> None:
    """Run an insert ``statement`` for ``fixed`` + each of ``rows``, in their order: on PostgreSQL as one
    statement of arrays (a short text: nothing for the driver to parse per row), else 100 rows a statement."""
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%s::{kind}[]" for kind in types)
        cursor.execute(statement.format(rows=f"SELECT %s, %s, * FROM unnest({arrays})"),  # noqa: S608 (fixed types)
                       [*fixed, *(list(column) for column in zip(*rows, strict=True))])
        return
    marks = "(" + ", ".join(["%s"] * (len(fixed) + len(types))) + ")"
    for start in range(0, len(rows), 100):
        chunk = rows[start:start + 100]
        cursor.execute(statement.format(rows="VALUES " + ", ".join([marks] * len(chunk))),
                       [v for row in chunk for v in (*fixed, *row)])


@transaction.atomic
def round_tally_rebuild(*, round_id: int) -> int:
    """Recount the round's tallies from its stored records; returns the
    number of submissions counted. Running it twice gives the same rows."""
    round_ = Round.objects.select_for_update().get(pk=round_id)
    breakdowns = kept_breakdowns(round_)
    plans = {q.pk: _cached_plan(q.pk, q.schema_key, breakdowns)
             for q in Questionnaire.objects.filter(round=round_).only("pk", "md5", "schema_rev", "form_id")}
    totals, counted, flags = _count_round(round_id, plans)
    numbers: dict[str, frozenset[str]] = {}
    for questionnaire in Questionnaire.objects.filter(round=round_).only("pk", "form_id"):
        numbers[questionnaire.form_id] = (numbers.get(questionnaire.form_id, frozenset())
                                          | cell_index(plans[questionnaire.pk]).numbers)
    RoundTally.objects.filter(round=round_).delete()
    RoundNumberTally.objects.filter(round=round_).delete()
    _store_cells(round_id, totals, numbers)
    for value, pks in flags.items():
        for start in range(0, len(pks), 10_000):
            Submission.objects.filter(pk__in=pks[start:start + 10_000]).update(tallied=value)
    return counted


def _count_round(round_id: int,
                 plans: dict[int, TallyPlan]) -> tuple[dict[str, Counter[Cell]], int, dict[bool, list[int]]]:
    """One pass over the round's rows: the cells of those that count, and the
    rows whose ``tallied`` flag disagrees with the rule. Each record's value
    cells (small integers) are counted under its combination of groups, its
    shape (questions answered and skipped) once per shape; both are spread
    over the groups at the end."""
    by_combination: dict[tuple[int, str, Groups], Counter[int]] = {}
    #: (questionnaire, form, groups, paths answered, paths asked but skipped) → records of that shape
    shapes: Counter[tuple[int, str, Groups, tuple[str, ...], tuple[str, ...]]] = Counter()
    flags: dict[bool, list[int]] = {True: [], False: []}
    counted = 0
    rows = (Submission.objects.filter(round_id=round_id)
            .annotate(record=Case(When(COUNTED, then=JsonText("answers")), default=Value(None),
                                  output_field=TextField()))
            .values_list("pk", "tallied", "questionnaire_id", "form_id", "record", "unanswered", "location__code"))
    for pk, tallied, questionnaire_id, form_id, text, unanswered, location in rows.iterator(chunk_size=5000):
        if text is None:  # does not count
            if tallied:
                flags[False].append(pk)
            continue
        if not tallied:
            flags[True].append(pk)
        plan = plans[questionnaire_id]
        answers = orjson.loads(text)
        key = (questionnaire_id, form_id, record_groups(answers, location, plan))
        counter = by_combination.get(key)
        if counter is None:
            counter = by_combination[key] = Counter()
        counter.update(cell_index(plan).value_ids(answers))
        shapes[(*key, tuple(answers), tuple(unanswered or ()))] += 1
        counted += 1
    for (questionnaire_id, form_id, groups, answered, skipped), n in shapes.items():
        counter = by_combination[(questionnaire_id, form_id, groups)]
        for i in cell_index(plans[questionnaire_id]).shape_ids(answered, skipped):
            counter[i] += n
    totals: dict[str, Counter[Cell]] = {}
    for (questionnaire_id, form_id, groups), counts in by_combination.items():
        keys = cell_index(plans[questionnaire_id]).keys
        cells = totals.setdefault(form_id, Counter())
        for dimension, group in groups:
            for i, n in counts.items():
                path, value = keys[i]
                cells[(dimension, group, path, value)] += n
    return totals, counted, flags


def _store_cells(round_id: int, totals: dict[str, Counter[Cell]], numbers: dict[str, frozenset[str]]) -> None:
    rows = ((round_id, form_id, d, g, p, v, n, _number(p, v, numbers.get(form_id, frozenset())))
            for form_id, cells in totals.items() for (d, g, p, v), n in sorted(cells.items()) if n)
    sums = [(round_id, form_id, *key, *moved) for form_id, cells in totals.items()
            for key, moved in sorted(_sums(cells, numbers.get(form_id, frozenset())).items())]
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        with connection.connection.cursor() as cursor:
            for statement, stored in ((_COPY, rows), (_COPY_SUMS, sums)):
                with cursor.copy(statement) as copy:
                    for row in stored:
                        copy.write_row(row)
            cursor.execute(f"ANALYZE surveys_roundtally, {_SUMS}")  # fresh statistics for the report's queries
    else:
        RoundTally.objects.bulk_create((RoundTally(round_id=r, form_id=f, dimension=d, group=g, path=p, value=v,
                                                   count=n, number=x) for r, f, d, g, p, v, n, x in rows),
                                       batch_size=2000)
        RoundNumberTally.objects.bulk_create((RoundNumberTally(round_id=r, form_id=f, dimension=d, group=g, path=p,
                                                               n=n, total=t, squares=sq)
                                              for r, f, d, g, p, n, t, sq in sums), batch_size=2000)
