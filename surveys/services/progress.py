"""Running counts for the collection dashboard (:class:`ProgressCount`).

Every writer that creates a submission or changes what the dashboard counts
(its round's current version, location, respondent's sex, review state,
consent, validation, interview day) calls :func:`progress_before` before the change and
:func:`progress_after` after it, inside its transaction and holding the
submission's row lock (ingest calls :func:`progress_received` for a new row):
one cell loses the submission, another gains it. The dashboard then reads a
few thousand cells instead of every submission. :func:`round_progress_rebuild`
recounts a round from its submissions and gives the same rows (tested).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from itertools import groupby
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from surveys.models import ProgressCount, Submission

#: (round, user, location, respondent sex, review state, refused, validation, interview day, received day)
Key = tuple[int, int, int, str, str, bool, str, str, dt.date]
_COLUMNS = ("round_id, user_id, location_id, respondent_sex, review_status, refused, validation, interview_day, "
            "received_day")
_ADD = (f"INSERT INTO surveys_progresscount ({_COLUMNS}, count, last_received) "  # noqa: S608
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 1, %s) "
        f"ON CONFLICT ({_COLUMNS}) DO UPDATE SET count = surveys_progresscount.count + 1, "
        "last_received = CASE WHEN EXCLUDED.last_received > surveys_progresscount.last_received "
        "THEN EXCLUDED.last_received ELSE surveys_progresscount.last_received END")
_WHERE = ("round_id = %s AND user_id = %s AND location_id = %s AND respondent_sex = %s AND review_status = %s "
          "AND refused = %s AND validation = %s AND interview_day = %s AND received_day = %s")
_TAKE = f"UPDATE surveys_progresscount SET count = count - 1 WHERE {_WHERE}"  # noqa: S608
_ROW = "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
_ADD_MANY = (f"INSERT INTO surveys_progresscount ({_COLUMNS}, count, last_received) "  # noqa: S608
             "VALUES {rows} "
             f"ON CONFLICT ({_COLUMNS}) DO UPDATE SET count = surveys_progresscount.count + EXCLUDED.count, "
             "last_received = CASE WHEN EXCLUDED.last_received > surveys_progresscount.last_received "
             "THEN EXCLUDED.last_received ELSE surveys_progresscount.last_received END")
_TAKE_N = f"UPDATE surveys_progresscount SET count = count - %s WHERE {_WHERE}"  # noqa: S608
_DROP = f"DELETE FROM surveys_progresscount WHERE {_WHERE} AND count = 0"  # noqa: S608


def progress_key(submission: Submission) -> Key | None:
    """The cell ``submission`` counts in as it stands; None when it is not current."""
    if not submission.is_current:
        return None
    day = submission.interview_date
    return (submission.round_id, submission.submitted_by_id or 0, submission.location_id or 0,
            submission.respondent_sex or "", submission.review_status or "", submission.consent is False,
            submission.validation, day.isoformat() if day else "", timezone.localdate(submission.received_at))


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
    *head, received_day = key
    return [*head, ops.adapt_datefield_value(received_day)]


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
        """Cells in key order (one order for every writer: concurrent batches cannot deadlock on them);
        a run of gains in one statement per 200 cells."""
        ops = connection.ops
        changes = sorted((key, n) for key, n in self.counts.items() if n)
        with connection.cursor() as cursor:
            for gain, same_sign in groupby(changes, key=lambda item: item[1] > 0):
                run = list(same_sign)
                if not gain:
                    cursor.executemany(_TAKE_N, [[-n, *_params(key)] for key, n in run])
                    cursor.executemany(_DROP, [_params(key) for key, _ in run])
                    continue
                for start in range(0, len(run), 200):
                    part = run[start:start + 200]
                    cursor.execute(_ADD_MANY.format(rows=", ".join([_ROW] * len(part))),
                                   [v for key, n in part
                                    for v in (*_params(key), n, ops.adapt_datetimefield_value(self.last[key]))])
        self.counts.clear()
        self.last.clear()


def _take(key: Key) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_TAKE, _params(key))
        cursor.execute(_DROP, _params(key))


@transaction.atomic
def round_progress_rebuild(*, round_id: int) -> int:
    """Recount the round's cells from its current submissions; returns how many
    submissions were counted. Running it twice gives the same rows."""
    from surveys.models import Round

    Round.objects.select_for_update().get(pk=round_id)
    counts: Counter[Key] = Counter()
    last: dict[Key, dt.datetime] = {}
    fields = ["round_id", "submitted_by_id", "location_id", "respondent_sex", "review_status", "consent",
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
                       refused=k[5], validation=k[6], interview_day=k[7], received_day=k[8], count=n,
                       last_received=last[k])
         for k, n in counts.items()), batch_size=2000)
    return sum(counts.values())
