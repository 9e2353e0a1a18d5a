"""The time bins of the scorecard's cells (log scale), shared by the service that keeps them and the selector
that reads them."""

from __future__ import annotations

import math

#: Bins per unit of log(1 + seconds): a bin is 5 % wide (scorecard medians) or 10 % (time per question).
SCORE_BINS, QUESTION_BINS = 20, 10


def time_bin(seconds: float, per: int = SCORE_BINS) -> int:
    return round(math.log1p(max(0.0, seconds)) * per)


def bin_seconds(index: int, per: int = SCORE_BINS) -> float:
    """The seconds a bin stands for (its centre)."""
    return math.expm1(index / per)


def percentile_bin(bins: list[tuple[int, int]], share: float) -> int:
    """The bin holding the ``share`` percentile of counts per bin."""
    ordered = sorted(bins)
    total = sum(n for _, n in ordered)
    seen = 0
    for index, n in ordered:
        seen += n
        if seen >= share * total:
            return index
    return ordered[-1][0]
