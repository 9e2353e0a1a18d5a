"""Running counts for the collection dashboard (:class:`ProgressCount`).

Every writer that creates a submission or changes what the dashboard counts
(its round's current version, location, respondent's sex, review state,
consent, validation, interview day) calls :func:`progress_before` before the change and
:func:`progress_after` after it, inside its transaction and holding the
submission's row lock (ingest calls :func:`progress_received` for a new row):
one cell loses the submission, another gains it. The dashboard then reads a
few thousand cells instead of every submission. :func:`round_progress_rebuild`
recounts a round from its submissions and gives the same rows (tested).

The flags of the current submissions are counted the same way (:class:`FlagCount`, per round, sender,
review state and check): :func:`flags_before` and :func:`flags_after` move a submission's flags from the
cells it counted them in to those it counts them in now (its review state changed, it was replaced, or
its flags changed), and :func:`round_progress_rebuild` recounts them from the flags too.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from surveys.models import FlagCount, ProgressCount, Submission, SubmissionFlag

#: (round, user, location, respondent sex, review state, refused, validation, interview day, received day, slot)
Key = tuple[int, int, int, str, str, bool, str, str, dt.date, int]
_COLUMNS = ("round_id, user_id, location_id, respondent_sex, review_status, refused, validation, interview_day, "
            "received_day, slot")
_ADD = (f"INSERT INTO surveys_progresscount ({_COLUMNS}, count, last_received) "  # noqa: S608
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 1, %s) "
        f"ON CONFLICT ({_COLUMNS}) DO UPDATE SET count = surveys_progresscount.count + 1, "
        "last_received = CASE WHEN EXCLUDED.last_received > surveys_progresscount.last_received "
        "THEN EXCLUDED.last_received ELSE surveys_progresscount.last_received END")
_WHERE = ("round_id = %s AND user_id = %s AND location_id = %s AND respondent_sex = %s AND review_status = %s "
          "AND refused = %s AND validation = %s AND interview_day = %s AND received_day = %s AND slot = %s")
_TAKE = f"UPDATE surveys_progresscount SET count = count - 1 WHERE {_WHERE}"  # noqa: S608
_ROW = "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
_ADD_MANY = (f"INSERT INTO surveys_progresscount ({_COLUMNS}, count, last_received) "  # noqa: S608
             "VALUES {rows} "
             f"ON CONFLICT ({_COLUMNS}) DO UPDATE SET count = surveys_progresscount.count + EXCLUDED.count, "
             "last_received = CASE WHEN EXCLUDED.last_received > surveys_progresscount.last_received "
             "THEN EXCLUDED.last_received ELSE surveys_progresscount.last_received END")
_TAKE_N = f"UPDATE surveys_progresscount SET count = count - %s WHERE {_WHERE}"  # noqa: S608
_DROP = f"DELETE FROM surveys_progresscount WHERE {_WHERE} AND count = 0"  # noqa: S608


def progress_key(submission: Submission) -> Key | None:
    """The cell ``submission`` counts in as it stands; None when it is not current. Until it is processed,
    one of :attr:`ProgressCount.PENDING_SLOTS` cells by its id (concurrent posts of one sender add to
    different rows)."""
    if not submission.is_current:
        return None
    day = submission.interview_date
    pending = submission.validation == Submission.Validation.PENDING
    return (submission.round_id, submission.submitted_by_id or 0, submission.location_id or 0,
            submission.respondent_sex or "", submission.review_status or "", submission.consent is False,
            submission.validation, day.isoformat() if day else "", timezone.localdate(submission.received_at),
            submission.pk % ProgressCount.PENDING_SLOTS if pending else 0)


def progress_before(submission: Submission) -> Key | None:
    return progress_key(submission)


def progress_after(submission: Submission, before: Key | None, *, into: ProgressDelta | None = None) -> bool:
    """Move ``submission`` from the cell it counted in (``before``) to the one it counts in now (with
    ``into``, a batch: noted there, written by :meth:`ProgressDelta.write`)."""
    after = progress_key(submission)
    if after == before:
        return False
    if into is not None:
        into.move(before, after, submission.received_at)
        return True
    if before is not None:
        _take(before)
    if after is not None:
        _add(after, submission.received_at)
    return True


def progress_received(submission: Submission) -> None:
    """A new submission: it counts from now."""
    progress_after(submission, None)


def _params(key: Key) -> list[Any]:
    ops = connection.ops
    *head, received_day, slot = key
    return [*head, ops.adapt_datefield_value(received_day), slot]


def _add(key: Key, received_at: dt.datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_ADD, [*_params(key), connection.ops.adapt_datetimefield_value(received_at)])


class ProgressDelta:
    """Progress moves summed over a batch: each cell's net change and the latest arrival it gains."""

    def __init__(self) -> None:
        self.counts: Counter[Key] = Counter()
        self.last: dict[Key, dt.datetime] = {}

    def move(self, before: Key | None, after: Key | None, received_at: dt.datetime) -> None:
        if before is not None:
            self.counts[before] -= 1
        if after is not None:
            self.counts[after] += 1
            self.last[after] = max(self.last.get(after, received_at), received_at)

    def merge(self, other: ProgressDelta) -> None:
        self.counts.update(other.counts)
        for key, moment in other.last.items():
            self.last[key] = max(self.last.get(key, moment), moment)

    def write(self) -> None:
        adapt = connection.ops.adapt_datetimefield_value
        _moves_write(sorted((key, n) for key, n in self.counts.items() if n), take=_TAKE_N, drop=_DROP,
                     add_many=_ADD_MANY, row=_ROW, params=_params,
                     gain=lambda key, n: [*_params(key), n, adapt(self.last[key])])
        self.counts.clear()
        self.last.clear()


def _moves_write(changes: list[tuple[Any, int]], *, take: str, drop: str, add_many: str, row: str,
                 params: Callable[[Any], list[Any]], gain: Callable[[Any, int], list[Any]]) -> None:
    """Write cells' net changes (``changes``, in key order: one order for every writer, so concurrent batches
    cannot deadlock on them): a run of losses as an update and a delete of emptied cells each, a run of gains
    as one upsert per 200 cells. ``params``: a key's values for ``take``/``drop``; ``gain``: a gained cell's
    row for ``add_many`` (``row`` its placeholders)."""
    with connection.cursor() as cursor:
        for is_gain, same_sign in groupby(changes, key=lambda item: item[1] > 0):
            run = list(same_sign)
            if not is_gain:
                cursor.executemany(take, [[-n, *params(key)] for key, n in run])
                cursor.executemany(drop, [params(key) for key, _ in run])
                continue
            for start in range(0, len(run), 200):
                part = run[start:start + 200]
                cursor.execute(add_many.format(rows=", ".join([row] * len(part))),
                               [v for key, n in part for v in gain(key, n)])


def _take(key: Key) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_TAKE, _params(key))
        cursor.execute(_DROP, _params(key))


#: A flag's cell: (round, user, review state, check).
FlagKey = tuple[int, int, str, str]
#: Where a submission's flags count: (round, user, review state).
FlagHolder = tuple[int, int, str]
_FLAG_COLUMNS = "round_id, user_id, review_status, check_name"
_FLAG_WHERE = "round_id = %s AND user_id = %s AND review_status = %s AND check_name = %s"
_FLAG_ADD_MANY = (f"INSERT INTO surveys_flagcount ({_FLAG_COLUMNS}, count) VALUES {{rows}} "  # noqa: S608
                  f"ON CONFLICT ({_FLAG_COLUMNS}) DO UPDATE SET count = surveys_flagcount.count + EXCLUDED.count")
_FLAG_TAKE_N = f"UPDATE surveys_flagcount SET count = count - %s WHERE {_FLAG_WHERE}"  # noqa: S608
_FLAG_DROP = f"DELETE FROM surveys_flagcount WHERE {_FLAG_WHERE} AND count = 0"  # noqa: S608


def _flag_holder(submission: Submission) -> FlagHolder | None:
    """Where ``submission``'s flags count as it stands: (round, user, review state); None when it is not
    current."""
    if not submission.is_current:
        return None
    return submission.round_id, submission.submitted_by_id or 0, submission.review_status or ""


def stored_checks(submission: Submission) -> list[str]:
    """The checks ``submission``'s stored flags name: its prefetched flags (``prefetch_related("flags")``, no
    query), else read."""
    prefetched = getattr(submission, "_prefetched_objects_cache", {}).get("flags")
    if prefetched is not None:
        return [flag.check_name for flag in prefetched]
    return list(SubmissionFlag.objects.filter(submission_id=submission.pk).values_list("check_name", flat=True))


@dataclass
class FlagsBefore:
    """What :func:`flags_before` notes: where the submission's flags counted, and which (when prefetched)."""

    holder: FlagHolder | None
    checks: list[str] | None


def flags_before(submission: Submission) -> FlagsBefore:
    """Noted before a change: the flags' cells are read only when they move (:func:`flags_after`)."""
    prefetched = getattr(submission, "_prefetched_objects_cache", {}).get("flags")
    return FlagsBefore(_flag_holder(submission), None if prefetched is None else
                       [flag.check_name for flag in prefetched])


def flags_after(submission: Submission, before: FlagsBefore, *, checks: Iterable[str] | None = None,
                into: FlagDelta) -> bool:
    """Move ``submission``'s flags from the cells they counted in before the change to those they count in
    now, into the delta ``into``. ``checks``: its flags' checks after the change, given by a writer that
    changed them (processing, whose flags are written when its batch ends); else they are the stored ones.
    The checks before are the prefetched ones, else the stored ones (a writer that changes flags without
    prefetching them writes them after the block)."""
    holder = _flag_holder(submission)
    if checks is None and holder == before.holder:
        return False  # the same flags in the same cells
    old = before.checks if before.checks is not None else stored_checks(submission)
    new = old if checks is None else list(checks)
    moves: Counter[FlagKey] = Counter()
    if before.holder is not None:
        moves.subtract((*before.holder, check) for check in old)
    if holder is not None:
        moves.update((*holder, check) for check in new)
    into.counts.update(moves)
    return any(moves.values())


class FlagDelta:
    """Flag moves summed over a batch: each cell's net change."""

    def __init__(self) -> None:
        self.counts: Counter[FlagKey] = Counter()

    def gained(self, submission: Submission, check: str, n: int) -> None:
        """``n`` flags (1 added, -1 removed) of ``check`` on ``submission`` as it stands."""
        holder = _flag_holder(submission)
        if holder is not None:
            self.counts[(*holder, check)] += n

    def merge(self, other: FlagDelta) -> None:
        self.counts.update(other.counts)

    def write(self) -> None:
        changes = sorted((key, n) for key, n in self.counts.items() if n)
        self.counts.clear()
        if changes:  # (most writes: no flag moved)
            _moves_write(changes, take=_FLAG_TAKE_N, drop=_FLAG_DROP, add_many=_FLAG_ADD_MANY,
                         row="(%s, %s, %s, %s, %s)", params=list, gain=lambda key, n: [*key, n])


@transaction.atomic
def round_progress_rebuild(*, round_id: int) -> int:
    """Recount the round's cells from its current submissions; returns how many
    submissions were counted. Running it twice gives the same rows."""
    from surveys.models import Round

    Round.objects.select_for_update().get(pk=round_id)
    counts: Counter[Key] = Counter()
    last: dict[Key, dt.datetime] = {}
    fields = ["id", "round_id", "submitted_by_id", "location_id", "respondent_sex", "review_status", "consent",
              "validation", "interview_date", "received_at", "is_current"]
    for values in Submission.objects.filter(round_id=round_id, is_current=True).values(*fields).iterator(5000):
        key = progress_key(Submission(**values))
        if key is None:  # not current: never, by the filter
            continue
        counts[key] += 1
        last[key] = max(last.get(key, values["received_at"]), values["received_at"])
    ProgressCount.objects.filter(round_id=round_id).delete()
    ProgressCount.objects.bulk_create(
        (ProgressCount(round_id=k[0], user_id=k[1], location_id=k[2], respondent_sex=k[3], review_status=k[4],
                       refused=k[5], validation=k[6], interview_day=k[7], received_day=k[8], slot=k[9], count=n,
                       last_received=last[k])
         for k, n in counts.items()), batch_size=2000)
    _flags_rebuild(round_id)
    return sum(counts.values())


def _flags_rebuild(round_id: int) -> None:
    """The round's :class:`FlagCount` rows recounted from the flags of its current submissions."""
    cells: Counter[FlagKey] = Counter()
    for user_id, status, check, n in (
            SubmissionFlag.objects.filter(submission__round_id=round_id, submission__is_current=True)
            .values_list("submission__submitted_by_id", "submission__review_status", "check_name")
            .annotate(n=Count("id")).order_by()):
        cells[(round_id, user_id or 0, status or "", check)] += n  # a null review state and "" are one cell
    FlagCount.objects.filter(round_id=round_id).delete()
    FlagCount.objects.bulk_create(
        (FlagCount(round_id=k[0], user_id=k[1], review_status=k[2], check_name=k[3], count=n)
         for k, n in cells.items() if n), batch_size=2000)
