"""The scorecard's running cells (:class:`~surveys.models.ScoreCell`): what each interview adds, kept as a
delta on every processing, and the rebuild that recounts a round from the stored facts (the same rows)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from django.db import connection, transaction
from django.db.models import Sum

from surveys.models import InterviewQuality, ScoreCell, Submission
from surveys.score_bins import QUESTION_BINS, SCORE_BINS, bin_seconds, percentile_bin, time_bin

__all__ = ["QUESTION_BINS", "SCORE_BINS", "CellDelta", "Contribution", "cells_apply", "round_scorecard_rebuild",
           "team_median_active", "team_question_minimums", "time_bin"]

#: ``{"s": {key: n}, "q": {key: n}}``: an interview's contribution by cell kind.
Contribution = Mapping[str, Mapping[str, int]]


#: A cell: (round, enumerator, kind, key).
CellKey = tuple[int, int, str, str]


class CellDelta:
    """Differences of the scorecard's cells, summed until :meth:`write` (a batch's, or one interview's)."""

    def __init__(self) -> None:
        self.n: Counter[CellKey] = Counter()
        # The stored cells a batch's checks read, once per batch: the round's sums by key (round, kind), and
        # each enumerator's own (round, kind, enumerator). The batch's own differences are in ``n``.
        self._round: dict[tuple[int, str], Counter[str]] = {}
        self._own: dict[tuple[int, str, int], Counter[str]] = {}

    def add(self, *, round_id: int, enumerator_id: int, new: Contribution, old: Contribution) -> None:
        for kind in ("s", "q"):
            for key, n in (new.get(kind) or {}).items():
                self.n[(round_id, enumerator_id, kind, key)] += int(n)
            for key, n in (old.get(kind) or {}).items():
                self.n[(round_id, enumerator_id, kind, key)] -= int(n)

    def merge(self, other: CellDelta) -> None:
        self.n.update(other.n)  # adds, negative differences kept

    def others(self, *, round_id: int, kind: str, enumerator_id: int) -> Counter[str]:
        """The differences not written yet in the round's cells of ``kind`` of everyone but ``enumerator_id``."""
        out: Counter[str] = Counter()
        for (r, e, k, key), n in self.n.items():
            if r == round_id and k == kind and e != enumerator_id and n:
                out[key] += n
        return out

    def team(self, *, round_id: int, kind: str, enumerator_id: int) -> Counter[str]:
        """The cells of ``kind`` of everyone in the round but ``enumerator_id``, as they stand in this batch:
        the stored ones (the round's sums read once per batch, less the enumerator's own, read once per
        enumerator) and the differences not written yet."""
        if (round_id, kind) not in self._round:
            self._round[(round_id, kind)] = _stored(round_id=round_id, kind=kind)
        if (round_id, kind, enumerator_id) not in self._own:
            self._own[(round_id, kind, enumerator_id)] = Counter(dict(
                ScoreCell.objects.filter(round_id=round_id, kind=kind, enumerator_id=enumerator_id)
                .values_list("key", "n")))
        out = Counter(self._round[(round_id, kind)])
        for key, n in self._own[(round_id, kind, enumerator_id)].items():
            out[key] -= n
        for key, n in self.others(round_id=round_id, kind=kind, enumerator_id=enumerator_id).items():
            out[key] += n
        return out

    def write(self) -> None:
        """One upsert that adds (safe under concurrent processing of the same enumerator's interviews), rows
        in key order as every writer; cells that reach zero are removed."""
        rows = [(*cell, n) for cell, n in sorted(self.n.items()) if n]
        if not rows:
            return
        table = ScoreCell._meta.db_table
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table} (round_id, enumerator_id, kind, key, n) VALUES (%s, %s, %s, %s, %s) "  # noqa: S608
                f"ON CONFLICT (round_id, kind, enumerator_id, key) DO UPDATE SET n = {table}.n + excluded.n", rows)
        for round_id, enumerator_id in sorted({(r, e) for r, e, *_, n in rows if n < 0}):
            ScoreCell.objects.filter(round_id=round_id, kind__in=("s", "q"), enumerator_id=enumerator_id,
                                     n=0).delete()


def cells_apply(*, round_id: int, enumerator_id: int, new: Contribution, old: Contribution) -> None:
    """Add ``new`` and take away ``old``: at once, or inside a processing batch
    (:func:`surveys.services.counts.counts_batched`) summed with the batch's other interviews and written
    once when it ends (:meth:`CellDelta.write`)."""
    from surveys.services.counts import counts_batch_open

    delta = CellDelta()
    delta.add(round_id=round_id, enumerator_id=enumerator_id, new=new, old=old)
    batch = counts_batch_open()
    if batch is not None:
        (batch.stage or batch).scores.merge(delta)
    else:
        delta.write()


def _stored(*, round_id: int, kind: str, but: int | None = None) -> Counter[str]:
    """The round's stored cells of ``kind`` summed by key (without enumerator ``but``'s)."""
    cells = ScoreCell.objects.filter(round_id=round_id, kind=kind)
    if but is not None:
        cells = cells.exclude(enumerator_id=but)
    return Counter(dict(cells.values_list("key").annotate(total=Sum("n")).values_list("key", "total")))


def _team(*, round_id: int, kind: str, enumerator_id: int) -> Counter[str]:
    """The cells of ``kind`` of the rest of the team: in a processing batch as it stands there (the stored
    cells read once per batch, :meth:`CellDelta.team`), else as stored."""
    from surveys.services.counts import counts_batch_open

    batch = counts_batch_open()
    if batch is None:
        return _stored(round_id=round_id, kind=kind, but=enumerator_id)
    return batch.scores.team(round_id=round_id, kind=kind, enumerator_id=enumerator_id)


@transaction.atomic
def round_scorecard_rebuild(*, round_id: int) -> int:
    """Recount a round's cells from its interviews' stored facts (current, processed ones count); returns the
    number of cells. Equal to the running cells (tested). Idempotent."""
    ScoreCell.objects.filter(round_id=round_id).delete()
    totals: dict[tuple[int, str, str], int] = Counter()
    counting = []
    rows = (InterviewQuality.objects.filter(round_id=round_id)
            .values_list("pk", "enumerator_id", "contribution", "submission__is_current", "submission__processing"))
    for pk, enumerator_id, contribution, current, processing in rows.iterator(chunk_size=2000):
        if not (current and processing == Submission.Processing.PROCESSED and contribution):
            continue
        counting.append(pk)
        for kind, keys in contribution.items():
            for key, n in keys.items():
                totals[(enumerator_id, kind, key)] += int(n)
    InterviewQuality.objects.filter(round_id=round_id).exclude(pk__in=counting).update(counted=False)
    InterviewQuality.objects.filter(pk__in=counting).update(counted=True)
    ScoreCell.objects.bulk_create(
        [ScoreCell(round_id=round_id, enumerator_id=e, kind=kind, key=key, n=n)
         for (e, kind, key), n in sorted(totals.items()) if n], batch_size=2000)
    return sum(1 for n in totals.values() if n)


def team_question_minimums(*, round_id: int, enumerator_id: int, names: set[str], least: int,
                           share: float = 0.05) -> dict[str, float]:
    """The rest of the team's ``share`` percentile of the time on each question (by name), for the questions
    the rest of the team answered at least ``least`` times."""
    if not names:
        return {}
    rows = _team(round_id=round_id, kind="q", enumerator_id=enumerator_id)
    bins: dict[str, list[tuple[int, int]]] = {}
    for key, total in rows.items():
        name, _, index = key.rpartition(":")
        if name in names and total > 0:
            bins.setdefault(name, []).append((int(index), int(total)))
    return {name: bin_seconds(percentile_bin(found, share), QUESTION_BINS)
            for name, found in bins.items() if sum(n for _, n in found) >= least}


def team_median_active(*, round_id: int, enumerator_id: int, least: int) -> float | None:
    """The rest of the team's median active time (seconds), once it has ``least`` audited interviews."""
    rows = _team(round_id=round_id, kind="s", enumerator_id=enumerator_id)
    found = [(int(key.split(":", 1)[1]), int(total)) for key, total in rows.items()
             if key.startswith("active:") and total > 0]
    if sum(n for _, n in found) < least:
        return None
    return bin_seconds(percentile_bin(found, 0.5))
