"""Dashboard benchmark: how long the collection dashboard's figures
(``surveys.progress.round_progress``) take for a round of N submissions, for
a coordinator (the whole round) and for the demo supervisor (their team), on
the embedded default (SQLite) or, with BENCH_DATABASE_URL, on PostgreSQL.

The demo is loaded (300 processed interviews), then N synthetic current
submissions of round 4 are bulk-inserted — spread over 60 days, 15
enumerators, 10 locations, both sexes, every review state, 4 % flagged — the
round's running counts are rebuilt from them (as the migration does for
existing data; live, every ingest, processing and review keeps them), and
``round_progress`` is timed (median of 5 runs, after one warm-up), with its
query count. ``BENCH_QUERIES=1`` prints each query's time.

Target (issue 16): under 0.3 s at 1,000,000 interviews on PostgreSQL. Measured on this shared 2-core
machine, ``BENCH_DATABASE_URL=… bench/dashboard.py --submissions 1000000``:

- before the flag counts (the flags of the interviews waiting for review counted from their rows, a join
  over the round's flagged submissions): coordinator 573 ms, supervisor 608 ms (the flag query 531 and
  550 ms of it; load average about 3);
- with them (``FlagCount``, running rows per round, sender, review state and check): coordinator 16–21 ms
  (11–12 ms of CPU, Django + PostgreSQL), supervisor 15–16 ms (12 ms of CPU), 9 queries each, in two runs
  at load averages 3.1 and 6.0;
- on main after the merge of issue 16's parts and the pending cells' slots (2026-11-30): coordinator 13 ms,
  supervisor 14 ms (11 ms of CPU each), 9 queries, load average 1.7 (1,000,000 inserted in 88.6 s, the counts
  rebuilt in 42.8 s).

Run: .venv/bin/python bench/dashboard.py --submissions 100000   (make bench runs it with the default)
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import django_for_bench, in_test_database  # noqa: E402

django_for_bench()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

BATCH = 5000
STATES = [None, None, None, "approved", "approved", "has_issues", "on_hold", "not_approved"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--submissions", type=int, default=100_000)
    args = parser.parse_args()
    in_test_database(lambda: run(args.submissions))


def fill(count: int) -> None:
    from enumerators.models import User
    from surveys.models import Questionnaire, Submission, SubmissionFlag

    q = Questionnaire.objects.select_related("round").get(form_id="mtm_kz_r4")
    enumerators = list(User.objects.filter(username__startswith="enum").order_by("username"))
    locations = list(q.round.locations.order_by("code"))
    if connection.vendor == "postgresql":
        _fill_sql(count, q, [u.pk for u in enumerators], [loc.pk for loc in locations])
        _counts_rebuilt(q.round_id)
        return
    received = Submission._meta.get_field("received_at")
    received.auto_now_add = False  # the synthetic rows carry their own days
    end = dt.datetime.now(dt.UTC)
    zone = ZoneInfo("Asia/Almaty")
    made = 0
    while made < count:
        rows = []
        for i in range(made, min(made + BATCH, count)):
            at = end - dt.timedelta(days=(i * 7) % 60, minutes=i % 600)
            rows.append(Submission(
                questionnaire=q, round=q.round, form_id=q.form_id, instance_id=f"uuid:bench-{i}", raw_body=b"",
                raw_sha256="0" * 64, submitted_by=enumerators[i % len(enumerators)],
                received_at=at, interview_date=at.astimezone(zone).date(),
                location=locations[(i // 3) % len(locations)], respondent_sex="m" if i % 6 else "f",
                processing="processed", validation="valid", answers={}, review_status=STATES[i % len(STATES)]))
        created = Submission.objects.bulk_create(rows)
        SubmissionFlag.objects.bulk_create(
            SubmissionFlag(submission=s, check_name="outlier" if n % 2 else "short_interview", reason="bench")
            for n, s in enumerate(created) if s.review_status == "has_issues" and n % 3 == 0)
        made += len(rows)
    received.auto_now_add = True
    _counts_rebuilt(q.round_id)


def _counts_rebuilt(round_id: int) -> None:
    from surveys.services.progress import round_progress_rebuild

    start = time.perf_counter()
    round_progress_rebuild(round_id=round_id)
    print(f"running counts rebuilt from the submissions in {time.perf_counter() - start:.1f} s")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE surveys_submission; ANALYZE surveys_submissionflag; ANALYZE surveys_progresscount; "
                           "ANALYZE surveys_flagcount")


def _fill_sql(count: int, q, users: list[int], locations: list[int]) -> None:
    """PostgreSQL: the same synthetic rows in two statements (generate_series), other columns copied
    from a demo submission."""
    from surveys.models import Submission

    made = {
        "id": None, "instance_id": "'uuid:bench-' || i", "raw_body": "''::bytea", "raw_sha256": "repeat('0', 64)",
        "submitted_by_id": f"(ARRAY{users})[1 + i % {len(users)}]",
        "location_id": f"(ARRAY{locations})[1 + (i / 3) % {len(locations)}]",
        "received_at": "now() - ((i * 7) % 60) * interval '1 day' - (i % 600) * interval '1 minute'",
        "interview_date": "((now() - ((i * 7) % 60) * interval '1 day' - (i % 600) * interval '1 minute') "
                          "AT TIME ZONE 'Asia/Almaty')::date",
        "respondent_sex": "CASE WHEN i % 6 = 0 THEN 'f' ELSE 'm' END",
        "review_status": "(ARRAY[NULL, NULL, NULL, 'approved', 'approved', 'has_issues', 'on_hold', "
                         "'not_approved'])[1 + i % 8]",
        "previous_id": "NULL", "respondent_id": "NULL", "device_id": "NULL", "fingerprint": "''",
        "deprecated_id": "''", "is_current": "true", "answers": "'{}'::jsonb",
    }
    columns = [f.column for f in Submission._meta.concrete_fields if f.column != "id"]
    exprs = [(made.get(c) or f"t.{c}").replace("%", "%%") for c in columns]  # "%" is psycopg's placeholder
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO surveys_submission ({', '.join(columns)}) "
                       f"SELECT {', '.join(exprs)} FROM generate_series(0, {count - 1}) AS i, "
                       f"(SELECT * FROM surveys_submission WHERE form_id = %s LIMIT 1) AS t", [q.form_id])
        cursor.execute("INSERT INTO surveys_submissionflag (submission_id, check_name, reason, created_at) "
                       "SELECT id, CASE WHEN id % 2 = 0 THEN 'outlier' ELSE 'short_interview' END, 'bench', now() "
                       "FROM surveys_submission WHERE instance_id LIKE 'uuid:bench-%%' "
                       "AND review_status = 'has_issues' AND id % 3 = 0")


def demo_filled(count: int):
    """The demo loaded and round 4 filled with ``count`` synthetic submissions (the time it took said)."""
    from surveys.models import Round

    call_command("load_demo", stdout=open(os.devnull, "w"))
    start = time.perf_counter()
    fill(count)
    print(f"{connection.vendor}: {count} synthetic submissions inserted in {time.perf_counter() - start:.1f} s")
    return Round.objects.get(number=4)


def timed(user, round_id: int) -> tuple[float, float, list, object]:
    """The median time of 5 runs, their median CPU time (this process and, on PostgreSQL, its backend), the
    last run's queries and figures."""
    from bench.support.records import backend_cpu
    from surveys.selectors.progress import round_progress

    server_cpu = backend_cpu if connection.vendor == "postgresql" else (lambda: 0.0)
    round_progress(user=user, round_id=round_id)  # warm-up
    times, cpu = [], []
    for _ in range(5):
        start_db = server_cpu()  # (its query outside the count)
        with CaptureQueriesContext(connection) as queries:
            start, start_cpu = time.perf_counter(), time.process_time()
            progress = round_progress(user=user, round_id=round_id)
            times.append(time.perf_counter() - start)
            own_cpu = time.process_time() - start_cpu
        cpu.append(own_cpu + server_cpu() - start_db)
    return statistics.median(times), statistics.median(cpu), queries.captured_queries, progress


def run(count: int) -> None:
    from enumerators.models import User

    round4 = demo_filled(count)
    for who in ("admin", "supervisor"):
        median, cpu, queries, p = timed(User.objects.get(username=who), round4.pk)
        if os.environ.get("BENCH_QUERIES"):
            for q in queries:
                print(f"  {float(q['time']) * 1000:7.1f} ms  {q['sql'][:150]}")
        print(f"round_progress as {who}: {median * 1000:.0f} ms (median of 5; {cpu * 1000:.0f} ms of CPU, "
              f"Django + PostgreSQL; load average {os.getloadavg()[0]:.1f}), {len(queries)} queries; "
              f"{p.received_total} received, {p.quota.done} counted, {len(p.timeline)} days, "
              f"{len(p.enumerators)} enumerators, {len(p.locations)} locations, {p.waiting_review} to review")


if __name__ == "__main__":
    main()
