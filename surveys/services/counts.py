"""The running counts every writer of a submission keeps in step: its
round's tallies (report tables, :mod:`surveys.services.tallies`) and the
collection progress (dashboard, :mod:`surveys.services.progress`).

This module is their one entry point (the dashboard's counts include the flags of
the current submissions, :class:`~surveys.models.FlagCount`). A writer that changes a stored
submission holds its row lock and wraps the change in :func:`counts_kept`;
ingest, creating one, calls :func:`counts_received`. Both kinds of counts
then move by the difference, in the writer's transaction::

    with counts_kept(submission) as counts:
        submission.review_status = "approved"
        submission.save(update_fields=["review_status"])
    counts.changed  # whether any count moved

A writer that changes the submission's flags in the block says which it has
after it (``counts.flags_now(checks)``: processing, whose flags are written when
its batch ends); one that adds or removes a flag of a submission it does not
otherwise change calls :func:`counts_flag_changed`.

Processing a batch (:func:`surveys.services.processing.submissions_process`)
opens :func:`counts_batched` around it: every :func:`counts_kept` inside
then adds its difference to the batch instead of writing it, and the batch
writes the sum when it ends, one upsert for the tallies of each form, one
for the progress cells, one for the flag counts and one for the scorecard's
cells (:func:`surveys.services.quality.cells.cells_apply`; the team's figures
the quality checks read add what the batch has not written yet), rows in key
order, as every writer. An interview whose savepoint is rolled back is staged (:meth:`CountsBatch.staged`) and its
difference dropped with it. The counts after a batch are the counts after the
same changes one by one (tested: incremental = rebuild).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from surveys.models import Submission
from surveys.services.progress import (
    FlagDelta,
    ProgressDelta,
    flags_after,
    flags_before,
    progress_after,
    progress_before,
    progress_received,
)
from surveys.services.quality.cells import CellDelta
from surveys.services.tallies import TallyDelta, tally_after, tally_before


@dataclass
class CountsChange:
    """Set when the block of :func:`counts_kept` ends: whether the tallies or the progress counts moved."""

    changed: bool = False
    #: The submission's flags' checks after the block, when the block changed them (:meth:`flags_now`).
    checks: list[str] | None = None

    def flags_now(self, checks: Iterable[str]) -> None:
        """The checks the submission's flags name after the block (they count from then)."""
        self.checks = list(checks)


@contextmanager
def counts_kept(submission: Submission) -> Iterator[CountsChange]:
    """Move ``submission``'s counts from what it counted before the block to
    what it counts after it. A block that raises moves nothing (its
    transaction is rolled back with it)."""
    batch = _BATCH.get()
    tallies = tally_before(submission, shared=batch.tallies.shared if batch else None)
    progress = progress_before(submission)
    flags = flags_before(submission)
    change = CountsChange()
    yield change
    if batch is not None:
        target = batch.stage or batch
        moved_tallies = tally_after(submission, tallies, into=target.tallies)
        moved_progress = progress_after(submission, progress, into=target.progress)
        moved_flags = flags_after(submission, flags, checks=change.checks, into=target.flags)
    else:  # the progress cells last, as a batch writes them (:meth:`CountsBatch.write`)
        moved_tallies = tally_after(submission, tallies)
        delta = FlagDelta()
        moved_flags = flags_after(submission, flags, checks=change.checks, into=delta)
        delta.write()
        moved_progress = progress_after(submission, progress)
    change.changed = moved_tallies or moved_progress or moved_flags


class CountsBatch:
    """The counts' differences of a batch of writes, summed until :meth:`write`."""

    def __init__(self) -> None:
        self.tallies = TallyDelta()
        self.progress = ProgressDelta()
        self.scores = CellDelta()  # the scorecard's cells (:func:`surveys.services.quality.cells.cells_apply`)
        self.flags = FlagDelta()
        self.stage: CountsBatch | None = None

    @contextmanager
    def staged(self) -> Iterator[None]:
        """One interview's changes: added to the batch when the block ends, dropped when it raises."""
        stage = CountsBatch()
        stage.tallies.shared = self.tallies.shared
        self.stage = stage
        try:
            yield
        finally:
            self.stage = None
        self.tallies.merge(stage.tallies)
        self.progress.merge(stage.progress)
        self.scores.merge(stage.scores)
        self.flags.merge(stage.flags)

    def write(self) -> None:
        """Tallies, scorecard cells, flag counts, then the progress cells, last before the writer commits:
        every post adds to the pending cells of its sender's day, so the batch holds their row locks for as
        short a time as it can (every writer takes the tables in this order: no deadlock between them)."""
        self.tallies.write()
        self.scores.write()
        self.flags.write()
        self.progress.write()


_BATCH: ContextVar[CountsBatch | None] = ContextVar("counts_batch", default=None)


@contextmanager
def counts_batched() -> Iterator[CountsBatch]:
    """Sum the differences of every :func:`counts_kept` in the block and write them once when it ends
    (inside the writer's transaction; a block that raises writes nothing)."""
    batch = CountsBatch()
    token = _BATCH.set(batch)
    try:
        yield batch
    finally:
        _BATCH.reset(token)
    batch.write()


def counts_batch_open() -> CountsBatch | None:
    """The processing batch open in this context (None: none); its writers add to it."""
    return _BATCH.get()


def counts_received(submission: Submission) -> None:
    """A new submission enters the progress counts (it adds to the tallies once processed)."""
    progress_received(submission)


def counts_flag_changed(submission: Submission, *, check: str, added: bool) -> None:
    """A flag of ``check`` added to (or removed from) ``submission``, which the writer holds locked and
    does not otherwise change: the dashboard's flag counts follow (with the batch when one is open)."""
    batch = _BATCH.get()
    delta = (batch.stage or batch).flags if batch is not None else FlagDelta()
    delta.gained(submission, check, 1 if added else -1)
    if batch is None:
        delta.write()
