"""A round of many records for the read benchmarks: the demo's processed interviews copied."""

from __future__ import annotations

import os
from pathlib import Path


def backend_cpu() -> float:
    """CPU seconds this connection's PostgreSQL backend has used (``/proc``: the server on this machine)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def records_database(default_url: str, total: int) -> None:
    """Django on the test settings over PostgreSQL at BENCH_DATABASE_URL (else ``default_url``), tasks
    in-process, in its test database (kept between runs with BENCH_KEEPDB=1) holding the demo and at least
    ``total`` records of its form."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mtm.settings.test")
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", default_url)
    os.environ.pop("REDIS_URL", None)
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_test_environment

    from surveys.models import Submission

    setup_test_environment()
    keep = bool(os.environ.get("BENCH_KEEPDB"))
    connection.creation.create_test_db(verbosity=0, keepdb=keep, autoclobber=not keep)
    if Submission.objects.count() < total:
        with open(os.devnull, "w") as quiet:
            call_command("load_demo", stdout=quiet)
        copy_to(total)


def copy_to(total: int) -> None:
    """Copy the demo's processed interviews until the form has ``total`` records (Django set up)."""
    from django.db import connection

    from surveys.models import Submission

    fields = ["questionnaire_id", "round_id", "form_id", "submitted_by_id", "received_at", "answers", "consent",
              "validation", "problems", "unanswered", "started_at", "interview_date", "ended_at", "location_id",
              "review_status", "reviewed_by_id", "reviewed_at"]
    models = list(Submission.objects.filter(answers__isnull=False, is_current=True).values(*fields))
    have = len(models)
    rows = []
    for n in range(total - have):
        values = dict(models[n % have])
        answers = dict(values["answers"])
        answers["meta/instanceID"] = instance_id = f"uuid:bench-{n:06d}"
        rows.append(Submission(**values | {"answers": answers}, instance_id=instance_id, raw_body=b"",
                               raw_sha256="0" * 64, processing="processed"))
    Submission.objects.bulk_create(rows, batch_size=2000)
    with connection.cursor() as cursor:  # as autovacuum would after a day of interviews
        cursor.execute("ANALYZE")
