"""Scorecard benchmark: the enumerator scorecard (``selectors.scorecard.round_scorecard``) of a round of
1,000,000 interviews, on the embedded default (SQLite) or, with BENCH_DATABASE_URL, on PostgreSQL.

The scorecard reads the running cells (``ScoreCell``), whose number grows with enumerators × questions × time
bins, not with interviews. The round's cells are written as 1,000,000 interviews leave them — 200
enumerators × 5,000 interviews, each contributing its counts, its active-time and time-per-question bins,
its answers to 30 categorical questions and its 60 questions' timings (``kind`` q, read by the checks) —
summed in memory from per-interview draws, and 10,000 back-checks (1 %) of synthetic originals. Then
``round_scorecard`` is timed (median of 5 runs after one warm-up), with its query count.

Then the team figures an audited interview's checks read (the rest of the team's fastest times per question
and median active time) are timed alone and in a batch of 200 interviews. 2026-11-30, PostgreSQL, load 1-2:
256,282 cells; the scorecard 144 ms, 3 queries; the team figures 152-160 ms alone, 3.8 ms an interview in a
batch of 200 (docs/adr/0019, addendum).

Run: .venv/bin/python bench/scorecard.py [--interviews 1000000] [--enumerators 200]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import django_for_bench, in_test_database  # noqa: E402

django_for_bench()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

QUESTIONS, CATEGORICAL, CHOICES = 60, 30, 4


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interviews", type=int, default=1_000_000)
    parser.add_argument("--enumerators", type=int, default=200)
    parser.add_argument("--backchecks", type=int, default=10_000)
    args = parser.parse_args()
    in_test_database(lambda: run(args.interviews, args.enumerators, args.backchecks))


def _cells(rng: random.Random, interviews: int, fabricator: bool) -> tuple[Counter[str], Counter[str]]:
    """The cells ``interviews`` interviews of one enumerator leave (drawn per cell from their distributions)."""
    from surveys.score_bins import QUESTION_BINS, time_bin

    s: Counter[str] = Counter({"n": interviews, "audited": interviews})
    s["flagged"] = sum(rng.random() < (0.9 if fabricator else 0.03) for _ in range(interviews))
    s["selects"], s["gates"], s["scales"] = 3 * interviews, 5 * interviews, 2 * interviews
    s["dont_know"] = sum(rng.random() < (0.0 if fabricator else 0.1) for _ in range(3 * interviews))
    s["gate_skips"] = sum(rng.random() < (1.0 if fabricator else 0.35) for _ in range(5 * interviews))
    s["straight"] = sum(rng.random() < (0.9 if fabricator else 0.02) for _ in range(2 * interviews))
    speed = 0.2 if fabricator else 1.0
    for _ in range(interviews):
        active = 1800 * speed * math.exp(rng.gauss(0, 0.2))
        s[f"active:{time_bin(active)}"] += 1
        s[f"qtime:{time_bin(active / QUESTIONS)}"] += 1
    for question in range(CATEGORICAL):
        weights = [1] * CHOICES if not fabricator else [0, 0, 1, 0]
        for value, n in Counter(rng.choices(range(CHOICES), weights, k=interviews)).items():
            s[f"a:q{question}={value}"] = n
    q: Counter[str] = Counter()
    for question in range(QUESTIONS):
        for _ in range(interviews // 50):  # the bins' shape; scaled to the count below
            q[f"t{question}:{time_bin(30 * speed * math.exp(rng.gauss(0, 0.4)), QUESTION_BINS)}"] += 50
    return s, q


def fill(interviews: int, enumerators: int, backchecks: int) -> int:
    from django.utils import timezone

    from enumerators.models import User
    from surveys.models import BackCheck, Questionnaire, Round, ScoreCell, Submission, Survey
    from surveys.services.questionnaires import questionnaire_import
    from tests.forms import simple_form

    survey = Survey.objects.create(slug="bench", name="Bench")
    round_ = Round.objects.create(survey=survey, number=1)
    questionnaire_import(source=simple_form(form_id="bench"), filename="bench.md", survey_slug="bench",
                         round_number=1)
    questionnaire = Questionnaire.objects.get(form_id="bench")
    users = User.objects.bulk_create([User(username=f"bench{n:03d}") for n in range(enumerators)])
    rng = random.Random(1)
    per = interviews // enumerators
    rows = []
    for index, user in enumerate(users):
        s, q = _cells(rng, per, fabricator=index == 0)
        rows += [ScoreCell(round=round_, enumerator_id=user.pk, kind="s", key=k, n=v) for k, v in s.items() if v]
        rows += [ScoreCell(round=round_, enumerator_id=user.pk, kind="q", key=k, n=v) for k, v in q.items() if v]
    ScoreCell.objects.bulk_create(rows, batch_size=5000)
    now = timezone.now()
    originals = Submission.objects.bulk_create(
        [Submission(questionnaire=questionnaire, round=round_, form_id="bench", instance_id=f"uuid:bench-{n}",
                    raw_body=b"", raw_sha256="0" * 64, submitted_by=users[n % enumerators], received_at=now,
                    processing="processed") for n in range(backchecks)], batch_size=5000)
    BackCheck.objects.bulk_create(
        [BackCheck(round=round_, original=sub, enumerator_id=sub.submitted_by_id, compared=7,
                   differing=(4 if sub.submitted_by_id == users[0].pk else int(rng.random() < 0.1)))
         for sub in originals], batch_size=5000)
    print(f"{len(rows):,} cells ({sum(r.kind == 's' for r in rows):,} read by the scorecard), "
          f"{backchecks:,} back-checks")
    return round_.pk


def run(interviews: int, enumerators: int, backchecks: int) -> None:
    from surveys.selectors.scorecard import round_scorecard

    started = time.perf_counter()
    round_id = fill(interviews, enumerators, backchecks)
    print(f"filled in {time.perf_counter() - started:.0f} s ({connection.vendor})")
    card = round_scorecard(round_id=round_id)
    times = []
    for _ in range(5):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            card = round_scorecard(round_id=round_id)
            times.append(time.perf_counter() - started)
    outliers = {m: sum(r.figures[m].outlier for r in card.rows) for m in card.rows[0].figures}
    fab = card.rows[0]
    print(f"scorecard of {card.interviews:,} interviews, {len(card.rows)} enumerators: "
          f"median {statistics.median(times) * 1000:.0f} ms (min {min(times) * 1000:.0f}, max "
          f"{max(times) * 1000:.0f}), {len(queries)} queries")
    print(f"outliers per measure: {outliers}; the simulated fabricator ({fab.username}) marked on "
          f"{sum(f.outlier for f in fab.figures.values())} of {len(fab.figures)}")
    team_figures(round_id)


def team_figures(round_id: int) -> None:
    """What processing reads for each audited interview (the quality checks' team figures: the rest of the
    team's fastest times per question and median active time), timed for one enumerator."""
    from surveys.models import ScoreCell
    from surveys.services.quality.cells import team_median_active, team_question_minimums

    enumerator_id = ScoreCell.objects.filter(round_id=round_id).values_list("enumerator_id", flat=True).first()
    names = {f"t{question}" for question in range(QUESTIONS)}
    times = []
    for _ in range(5):
        started = time.perf_counter()
        team_question_minimums(round_id=round_id, enumerator_id=enumerator_id, names=names, least=20)
        team_median_active(round_id=round_id, enumerator_id=enumerator_id, least=20)
        times.append(time.perf_counter() - started)
    print(f"the team figures an audited interview's checks read, alone: median {statistics.median(times) * 1000:.0f} "
          f"ms (min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f})")
    from surveys.services.counts import counts_batched

    senders = list(ScoreCell.objects.filter(round_id=round_id).values_list("enumerator_id", flat=True).distinct())
    started = time.perf_counter()
    with counts_batched():  # a batch of 200 audited interviews from the round's enumerators (nothing written)
        for n in range(200):
            team_question_minimums(round_id=round_id, enumerator_id=senders[n % len(senders)], names=names, least=20)
            team_median_active(round_id=round_id, enumerator_id=senders[n % len(senders)], least=20)
    print(f"  in a batch of 200: {(time.perf_counter() - started) / 200 * 1000:.1f} ms an interview")


if __name__ == "__main__":
    main()
