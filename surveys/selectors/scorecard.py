"""The enumerator scorecard of a round: each enumerator's figures against the rest of the team, read from the
running cells (:class:`~surveys.models.ScoreCell`, a few rows per enumerator and question whatever the number of
interviews) and the back-checks; outliers marked by how far out they are (a robust z-score)."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db.models import Sum

from surveys.models import BackCheck, ScoreCell
from surveys.score_bins import bin_seconds, percentile_bin
from surveys.selectors.scope import round_for_user, team_user_ids

if TYPE_CHECKING:
    from enumerators.models import AnyUser

#: The scorecard's measures, in the order they are shown.
MEASURES = ("median_active_minutes", "median_question_seconds", "flag_rate", "backcheck_difference_rate",
            "gate_skip_share", "dont_know_share", "answer_distance", "straight_lining_share")
#: A robust z-score beyond this marks an outlier (Iglewicz and Hoaglin's 3.5).
OUTLIER_Z = 3.5
#: The measures that are shares of a count: (part key, whole key) of the cells.
SHARES = {"flag_rate": ("flagged", "n"), "gate_skip_share": ("gate_skips", "gates"),
          "dont_know_share": ("dont_know", "selects"), "straight_lining_share": ("straight", "scales")}
#: The fewest answers of a question (the enumerator's, and the rest of the team's) compared for the distance.
FEWEST_ANSWERS = 5


@dataclass(frozen=True)
class Figure:
    value: float | None
    #: (value − the enumerators' median) / robust spread; None where it cannot be worked out.
    z: float | None = None
    outlier: bool = False


@dataclass
class EnumeratorScore:
    enumerator_id: int
    username: str
    interviews: int
    figures: dict[str, Figure] = field(default_factory=dict)


@dataclass
class RoundScorecard:
    round_id: int
    interviews: int
    #: The whole (visible) team's figure per measure.
    team: dict[str, float | None]
    rows: list[EnumeratorScore]

    def as_dict(self) -> dict[str, object]:
        return {"round": self.round_id, "interviews": self.interviews, "measures": list(MEASURES),
                "team": self.team,
                "enumerators": [{"enumerator": r.username, "interviews": r.interviews,
                                 "figures": {m: {"value": f.value, "z": f.z, "outlier": f.outlier}
                                             for m, f in r.figures.items()}} for r in self.rows]}


def round_scorecard_for_user(*, user: AnyUser, round_id: int) -> RoundScorecard:
    """The scorecard of a round ``user`` may monitor (404 outside a supervisor's team), of the enumerators in
    their scope."""
    round_ = round_for_user(user=user, round_id=round_id)
    return round_scorecard(round_id=round_.pk, enumerator_ids=team_user_ids(user))


def round_scorecard(*, round_id: int, enumerator_ids: list[int] | None = None) -> RoundScorecard:
    cells = ScoreCell.objects.filter(round_id=round_id, kind="s").exclude(enumerator_id=0)
    if enumerator_ids is not None:
        cells = cells.filter(enumerator_id__in=enumerator_ids)
    by: dict[int, dict[str, int]] = defaultdict(dict)
    for enumerator_id, key, n in cells.values_list("enumerator_id", "key", "n").iterator(chunk_size=5000):
        by[enumerator_id][key] = n
    checks = (BackCheck.objects.filter(round_id=round_id, compared__gt=0).values_list("enumerator_id")
              .annotate(compared=Sum("compared"), differing=Sum("differing")))
    if enumerator_ids is not None:
        checks = checks.filter(enumerator_id__in=enumerator_ids)
    backchecks = {e: (c, d) for e, c, d in checks.values_list("enumerator_id", "compared", "differing")}
    names = _usernames(list(by))
    values = {e: _values(keys, backchecks.get(e)) for e, keys in by.items()}
    distances = _distances({e: _answers(keys) for e, keys in by.items()})
    for e in values:
        values[e]["answer_distance"] = distances[e]
    pooled: dict[str, int] = defaultdict(int)
    for keys in by.values():
        for key, n in keys.items():
            pooled[key] += n
    all_checks = (sum(c for c, _ in backchecks.values()), sum(d for _, d in backchecks.values()))
    team = _values(pooled, all_checks if all_checks[0] else None)
    team["answer_distance"] = _median([v["answer_distance"] for v in values.values()])
    counts = {e: {m: (keys.get(part, 0), keys.get(whole, 0)) for m, (part, whole) in SHARES.items()
                  if keys.get(whole, 0)} for e, keys in by.items()}
    for e, (compared, differing) in backchecks.items():
        if e in counts:
            counts[e]["backcheck_difference_rate"] = (differing, compared)
    rows = []
    for e in sorted(by, key=lambda e: names.get(e, "")):
        rows.append(EnumeratorScore(e, names.get(e, str(e)), by[e].get("n", 0), {
            m: _figure(e, m, values, counts) for m in MEASURES}))
    return RoundScorecard(round_id, pooled.get("n", 0), team, rows)


def _values(keys: dict[str, int], backcheck: tuple[int, int] | None) -> dict[str, float | None]:
    n = keys.get("n", 0)
    active = [(int(k.split(":", 1)[1]), v) for k, v in keys.items() if k.startswith("active:") and v > 0]
    qtime = [(int(k.split(":", 1)[1]), v) for k, v in keys.items() if k.startswith("qtime:") and v > 0]
    return {
        "median_active_minutes": round(bin_seconds(percentile_bin(active, 0.5)) / 60, 1) if active else None,
        "median_question_seconds": round(bin_seconds(percentile_bin(qtime, 0.5)), 1) if qtime else None,
        "flag_rate": _share(keys.get("flagged", 0), n),
        "backcheck_difference_rate": _share(backcheck[1], backcheck[0]) if backcheck else None,
        "gate_skip_share": _share(keys.get("gate_skips", 0), keys.get("gates", 0)),
        "dont_know_share": _share(keys.get("dont_know", 0), keys.get("selects", 0)),
        "straight_lining_share": _share(keys.get("straight", 0), keys.get("scales", 0)),
        "answer_distance": None,
    }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _answers(keys: dict[str, int]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for key, n in keys.items():
        if key.startswith("a:") and n > 0:
            question, _, value = key[2:].partition("=")
            out[question][value] = n
    return out


def _distances(answers: dict[int, dict[str, dict[str, int]]]) -> dict[int, float | None]:
    """Per enumerator, the mean Jensen–Shannon distance (base 2, 0–1) between their answers to each categorical
    question and the rest of the team's (the team's totals less their own: linear in enumerators)."""
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for per_question in answers.values():
        for question, counts in per_question.items():
            for value, n in counts.items():
                totals[question][value] += n
    out: dict[int, float | None] = {}
    for e, per_question in answers.items():
        found = []
        for question, mine in per_question.items():
            rest = {value: n - mine.get(value, 0) for value, n in totals[question].items()}
            if sum(mine.values()) >= FEWEST_ANSWERS and sum(rest.values()) >= FEWEST_ANSWERS:
                found.append(jensen_shannon(mine, rest))
        out[e] = round(statistics.fmean(found), 4) if found else None
    return out


def jensen_shannon(p: dict[str, int], q: dict[str, int]) -> float:
    """The Jensen–Shannon distance (the square root of the divergence, base 2) of two count tables."""
    tp, tq = sum(p.values()), sum(q.values())
    divergence = 0.0
    for value in set(p) | set(q):
        a, b = p.get(value, 0) / tp, q.get(value, 0) / tq
        m = (a + b) / 2
        divergence += (a * math.log2(a / m) if a else 0.0) / 2 + (b * math.log2(b / m) if b else 0.0) / 2
    return math.sqrt(max(0.0, divergence))


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 4) if known else None


def _robust_z(value: float, others: list[float], floor: float = 0.0) -> float | None:
    """How far ``value`` lies from the rest of the team, in robust standard deviations (1.4826 × MAD; the mean
    absolute deviation where the MAD is 0), the spread at least ``floor`` × the median (a time bin's width)."""
    if len(others) < 2:
        return None
    median = statistics.median(others)
    spread = max(1.4826 * statistics.median(abs(v - median) for v in others), floor * abs(median))
    if spread == 0:
        spread = 1.253314 * statistics.fmean(abs(v - median) for v in others)
    if spread == 0:
        return 0.0 if value == median else math.copysign(99.0, value - median)
    return (value - median) / spread


def _figure(e: int, measure: str, values: dict[int, dict[str, float | None]],
            counts: dict[int, dict[str, tuple[int, int]]]) -> Figure:
    """A share is compared with the median of the other enumerators' shares (one fabricator does not move it),
    its spread the larger of the binomial one for the enumerator's count and the robust spread of the others'
    shares (so chance in a small count and real differences between honest enumerators both stay inside);
    other figures by robust z."""
    value = values[e][measure]
    others = [float(v) for other, row in values.items() if other != e and (v := row[measure]) is not None]
    if value is None or len(others) < 2:
        return Figure(value)
    if (measure in SHARES or measure == "backcheck_difference_rate") and measure in counts[e]:
        part, whole = counts[e][measure]
        median = statistics.median(others)
        # The binomial spread at the others' median share (never 0 or 1: half an event either way).
        rest = min(max(median, 0.5 / whole), 1 - 0.5 / whole)
        binomial = math.sqrt(rest * (1 - rest) / whole)
        spread = max(binomial, 1.4826 * statistics.median(abs(v - median) for v in others))
        z: float | None = (part / whole - median) / spread
    else:
        # Times are read from bins 5 % wide: a difference within a bin or two is no difference.
        z = _robust_z(value, others, floor=0.1 if measure.startswith("median_") else 0.0)
    if z is None:
        return Figure(value)
    z = max(-99.0, min(99.0, z))
    return Figure(value, round(z, 1), abs(z) > OUTLIER_Z)


def _usernames(ids: list[int]) -> dict[int, str]:
    from enumerators.models import User

    return dict(User.objects.filter(pk__in=ids).values_list("pk", "username"))
