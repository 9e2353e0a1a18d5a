"""The running counts every writer of a submission keeps in step: its
round's tallies (report tables, :mod:`surveys.services.tallies`) and the
collection progress (dashboard, :mod:`surveys.services.progress`).

A writer holds the submission's row lock, calls :func:`counts_before`
before it changes the submission and :func:`counts_after` when done, inside
its transaction; both kinds of counts move by the difference."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from surveys.models import Submission
from surveys.selectors.tallies import Cell
from surveys.services.progress import Key, progress_after, progress_before
from surveys.services.tallies import tally_after, tally_before


@dataclass(frozen=True)
class CountsBefore:
    tallies: Counter[Cell]
    progress: Key | None


def counts_before(submission: Submission) -> CountsBefore:
    return CountsBefore(tally_before(submission), progress_before(submission))


def counts_after(submission: Submission, before: CountsBefore) -> bool:
    """Move the counts to ``submission`` as it stands now; whether any changed."""
    tallies = tally_after(submission, before.tallies)
    progress = progress_after(submission, before.progress)
    return tallies or progress
