"""The running counts every writer of a submission keeps in step: its
round's tallies (report tables, :mod:`surveys.services.tallies`) and the
collection progress (dashboard, :mod:`surveys.services.progress`).

This module is their one entry point. A writer that changes a stored
submission holds its row lock and wraps the change in :func:`counts_kept`;
ingest, creating one, calls :func:`counts_received`. Both kinds of counts
then move by the difference, in the writer's transaction::

    with counts_kept(submission) as counts:
        submission.review_status = "approved"
        submission.save(update_fields=["review_status"])
    counts.changed  # whether any count moved
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from surveys.models import Submission
from surveys.services.progress import progress_after, progress_before, progress_received
from surveys.services.tallies import tally_after, tally_before


@dataclass
class CountsChange:
    """Set when the block of :func:`counts_kept` ends: whether the tallies or the progress counts moved."""

    changed: bool = False


@contextmanager
def counts_kept(submission: Submission) -> Iterator[CountsChange]:
    """Move ``submission``'s counts from what it counted before the block to
    what it counts after it. A block that raises moves nothing (its
    transaction is rolled back with it)."""
    tallies, progress = tally_before(submission), progress_before(submission)
    change = CountsChange()
    yield change
    moved_tallies = tally_after(submission, tallies)
    moved_progress = progress_after(submission, progress)
    change.changed = moved_tallies or moved_progress


def counts_received(submission: Submission) -> None:
    """A new submission enters the progress counts (it adds to the tallies once processed)."""
    progress_received(submission)
