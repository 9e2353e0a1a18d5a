"""Validation benchmark: how many submissions one worker process validates,
checks and reviews per second, for the 60-field demo questionnaire, on the
embedded default (SQLite) or, with BENCH_DATABASE_URL, on PostgreSQL.

The demo generator's interviews are stored first (processing held back), then
``submission_process`` runs over all of them in this one process, as a Celery
worker with concurrency 1 would. Validation alone (no database) is timed too.

Run: make bench  (or .venv/bin/python bench/validate.py --submissions 2000)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import django_for_bench, in_test_database  # noqa: E402

django_for_bench()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--submissions", type=int, default=2000)
    args = parser.parse_args()
    in_test_database(lambda: run(args.submissions))


def run(count: int) -> None:
    from enumerators.models import User
    from surveys.demo.sample import demo_instances
    from surveys.models import Questionnaire, Submission
    from surveys.services import ingest
    from surveys.services.processing import form_rules, submission_process
    from surveys.services.validation import submission_validate

    call_command("load_demo", stdout=open(os.devnull, "w"))
    instances = demo_instances(count=count, seed=11)
    users = {u.username: u for u in User.objects.filter(username__startswith="enum")}
    ingest._enqueue_on_commit = lambda submission_id: None  # store only; processing is what is timed
    for item in instances:
        ingest.submission_ingest_xml(xml=item.xml, sender=ingest.Sender(user=users[item.enumerator]))
    q = Questionnaire.objects.get(form_id="mtm_kz_r4")
    rules = form_rules(q.pk, q.schema_key)
    answerable = sum(1 for f in rules.schema["fields"] if f["type"] not in ("group", "repeat", "note"))

    start = time.perf_counter()
    for item in instances:
        submission_validate(xml=item.xml, rules=rules)
    alone = time.perf_counter() - start

    ids = list(Submission.objects.order_by("id").values_list("id", flat=True))
    start = time.perf_counter()
    for submission_id in ids:
        submission_process(submission_id=submission_id)
    elapsed = time.perf_counter() - start

    states = dict(Submission.objects.values_list("validation").annotate(n=Count("id")))
    flagged = Submission.objects.filter(flags__isnull=False).distinct().count()
    print(f"{connection.vendor}: {len(ids)} submissions of a {answerable}-field form")
    print(f"validation alone: {len(ids) / alone:.0f} submissions/s ({alone / len(ids) * 1000:.2f} ms each)")
    print(f"full processing (validate, checks, review, save) in one worker: {len(ids) / elapsed:.0f} "
          f"submissions/s ({elapsed / len(ids) * 1000:.2f} ms each)")
    print(f"results: {states}, flagged {flagged}")


if __name__ == "__main__":
    main()
