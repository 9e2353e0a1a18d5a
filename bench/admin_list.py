"""Submission list benchmark (issue 15 item 3): how long the admin's submission
list takes to render its page of 50 rows for a round of N submissions, with the
filters a supervisor uses, for a coordinator (the whole round) and the demo
supervisor (their team), on the embedded default (SQLite) or, with
BENCH_DATABASE_URL, on PostgreSQL (the test database is named after it with
``_test``, e.g. ``mtm_15b_bench_test``).

The round is built as ``bench/dashboard.py`` builds it (the demo, then N
synthetic submissions of round 4 over 60 days, 15 enumerators, 10 locations,
every review state, some flagged). Each page is fetched through Django's test
client, rendered in full (template included); the median of 7 runs after one
warm-up is printed — wall time, and apart the CPU time Django spent in this
process and the database's query time, since on a shared machine the wall time
is mostly waiting for a core — with its query count. The same script times the list of an
older checkout (its filters by their old names) for a before/after figure.

Run: BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/mtm_15b_bench \\
     .venv/bin/python bench/admin_list.py --submissions 100000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import django_for_bench, in_test_database  # noqa: E402

django_for_bench()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

RUNS = 7


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--submissions", type=int, default=100_000)
    args = parser.parse_args()
    test = connection.settings_dict.setdefault("TEST", {})
    if connection.vendor == "postgresql" and not test.get("NAME"):
        test["NAME"] = f"{connection.settings_dict['NAME']}_test"
    in_test_database(lambda: run(args.submissions))


def pages(round_id: int) -> dict[str, str]:
    """The pages timed, by what a supervisor asks: this code's filter names, or an older checkout's."""
    import surveys.admin.submissions as admin_module

    if hasattr(admin_module, "ReviewFilter"):
        base = f"/admin/surveys/submission/?round={round_id}"
        return {"the round": base, "waiting for review": f"{base}&review=waiting",
                "not reviewed": f"{base}&review=none", "flagged (outlier)": f"{base}&flag=outlier",
                "counted": f"{base}&standing=counted"}
    base = f"/admin/surveys/submission/?questionnaire__round__id__exact={round_id}"
    return {"the round": base, "waiting for review": f"{base}&review_status__exact=has_issues",
            "not reviewed": f"{base}&review_status__isnull=True",
            "flagged (outlier)": f"{base}&flags__check_name=outlier"}


def timed(client: Client, url: str) -> tuple[float, float, float, list[dict[str, str]], int]:
    """Median wall time, median CPU time of this process (Django: filters, rows, template) and median time
    of the database's queries, in seconds; the last run's queries; the rows on the page."""
    response = client.get(url)  # warm-up
    assert response.status_code == 200, (url, response.status_code)
    wall, cpu, database = [], [], []
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as queries:
            start, start_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        database.append(sum(float(q["time"]) for q in queries.captured_queries))
    rows = len(response.context["cl"].result_list)
    return (statistics.median(wall), statistics.median(cpu), statistics.median(database), queries.captured_queries,
            rows)


def run(count: int) -> None:
    from bench.dashboard import demo_filled
    from enumerators.models import User

    round4 = demo_filled(count)
    for who in ("admin", "supervisor"):
        client = Client()
        client.force_login(User.objects.get(username=who))
        for name, url in pages(round4.pk).items():
            wall, cpu, database, queries, rows = timed(client, url)
            slowest = max(queries, key=lambda q: float(q["time"]))
            print(f"{who:10} {name:20} {wall * 1000:5.0f} ms wall = Django {cpu * 1000:4.0f} ms CPU + database "
                  f"{database * 1000:4.0f} ms (+ waiting for a core), medians of {RUNS}; {len(queries):2} queries, "
                  f"slowest {float(slowest['time']) * 1000:.0f} ms; {rows} rows", flush=True)
            if os.environ.get("BENCH_QUERIES"):
                for q in queries:
                    print(f"      {float(q['time']) * 1000:7.1f} ms  {q['sql'][:160]}")


if __name__ == "__main__":
    main()
