"""Audit-log benchmark: processing a 60-question interview with a 300-row audit log (ODK Collect's format,
with location and track-changes columns), on the embedded default (SQLite) or, with BENCH_DATABASE_URL, on
PostgreSQL.

A 60-question form (20 yes/no gates each with a follow-up, a 10-item scale, 10 others) with the ``audit``
question; a team of 10 enumerators sends 20 interviews each first (so that the team-relative checks have
their baseline and the cells their size), then N more interviews are ingested and each one's
``submission_process`` is timed; the same interviews without the audit attachment are the comparison. The
reader alone (``audit_log_read`` on the 300-row file) is timed too.

Run: .venv/bin/python bench/audit_log.py [--interviews 50]
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import django_for_bench, in_test_database  # noqa: E402

django_for_bench()

GATES, SCALE, OTHERS = 20, 10, 10  # 20 gates + 20 follow-ups + 10 scale items + 10 others = 60 questions
START = 1_714_626_000_000  # 2024-05-02 10:00 Almaty, in ms


def form() -> bytes:
    rows = ["| survey |", "| | type | name | label | relevant | parameters |",
            "| | start | start | | | |", "| | end | end | | | |",
            "| | audit | audit | | | location-priority=balanced location-min-interval=60 location-max-age=120 "
            "track-changes=true |"]
    for n in range(GATES):
        rows += [f"| | select_one yn | g{n} | Gate {n} | | |",
                 f"| | integer | f{n} | Follow-up {n} | ${{g{n}}} = 'yes' | |"]
    rows += ["| | begin group | scale | Scale | | |"]
    rows += [f"| | select_one agree | s{n} | Item {n} | | |" for n in range(SCALE)]
    rows += ["| | end group | | | | |"]
    rows += [f"| | select_one yndk | o{n} | Other {n} | | |" for n in range(OTHERS)]
    rows += ["| choices |", "| | list_name | name | label |", "| | yn | yes | Yes |", "| | yn | no | No |",
             "| | yndk | yes | Yes |", "| | yndk | no | No |", "| | yndk | dk | Don't know |",
             *[f"| | agree | {n} | {n} |" for n in range(1, 5)],
             "| settings |", "| | form_id | version |", "| | bench_audit | 1 |"]
    return "\n".join(rows).encode()


def interview(rng: random.Random) -> tuple[bytes, bytes]:
    """An instance and its audit log (300 rows: screens, location changes, a few revisits with changes)."""
    answers: dict[str, str] = {}
    order: list[str] = []
    for n in range(GATES):
        answers[f"g{n}"] = rng.choice(["yes", "no"])
        order.append(f"g{n}")
        if answers[f"g{n}"] == "yes":
            answers[f"f{n}"] = str(rng.randint(1, 99))
            order.append(f"f{n}")
    for n in range(SCALE):
        answers[f"scale/s{n}"] = str(rng.randint(1, 4))
        order.append(f"scale/s{n}")
    for n in range(OTHERS):
        answers[f"o{n}"] = rng.choice(["yes", "no", "dk"])
        order.append(f"o{n}")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["event", "node", "start", "end", "latitude", "longitude", "accuracy", "old-value", "new-value"])
    t, rows = START, 1
    writer.writerow(["form start", "", t, "", "", "", "", "", ""])
    while rows < 296:
        for path in order:
            if rows >= 296:
                break
            took = rng.randint(3000, 20000)
            writer.writerow(["location changed", "", t, "", 43.25, 76.9, 10, "", ""])
            writer.writerow(["question", f"/data/{path}", t, t + took, 43.25, 76.9, 10, "", answers[path]])
            t, rows = t + took + 200, rows + 2
    for event in ("end screen", "form save", "form exit", "form finalize"):
        writer.writerow([event, "", t, t + 1000 if event == "end screen" else "", 43.25, 76.9, 10, "", ""])
    body = "".join(f"<{p}>{answers.get(p, '')}</{p}>" for p in
                   [*(x for n in range(GATES) for x in (f"g{n}", f"f{n}"))])
    scale = "".join(f"<s{n}>{answers[f'scale/s{n}']}</s{n}>" for n in range(SCALE))
    others = "".join(f"<o{n}>{answers[f'o{n}']}</o{n}>" for n in range(OTHERS))
    xml = (f'<data id="bench_audit" version="1"><start>2024-05-02T10:00:00+05:00</start>'
           f"<end>2024-05-02T10:45:00+05:00</end>{body}<scale>{scale}</scale>{others}"
           f"<meta><audit>audit.csv</audit><instanceID>uuid:{uuid.uuid4()}</instanceID></meta></data>").encode()
    return xml, out.getvalue().encode()


def run(count: int) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from enumerators.models import Assignment, Enumerator, User
    from surveys.models import InterviewQuality, ScoreCell
    from surveys.services.audit_log import audit_log_read
    from surveys.services.ingest import Sender, submission_ingest_xml
    from surveys.services.processing import submission_process
    from surveys.services.questionnaires import questionnaire_import

    q = questionnaire_import(source=form(), filename="bench_audit.md", survey_slug="bench",
                             round_number=1).questionnaire
    users = [User.objects.create(username=f"team{n:02d}") for n in range(11)]
    for user in users:
        Assignment.objects.create(enumerator=Enumerator.objects.create(user=user, sex="f"), round=q.round)
    rng = random.Random(7)

    def ingest(user: User, with_audit: bool) -> int:
        xml, audit = interview(rng)
        files = [SimpleUploadedFile("audit.csv", audit, content_type="text/csv")] if with_audit else []
        return submission_ingest_xml(xml=xml, sender=Sender(user=user), attachments=files).submission.pk

    for user in users[:10]:
        for _ in range(20):
            submission_process(submission_id=ingest(user, True))
    _, sample = interview(random.Random(1))
    lines = sample.count(b"\n") - 1
    reads = []
    for _ in range(50):
        started = time.perf_counter()
        facts = audit_log_read(sample)
        reads.append(time.perf_counter() - started)
    print(f"audit_log_read of a {lines}-row log ({len(sample):,} bytes, {len(facts.question_seconds)} questions): "
          f"median {statistics.median(reads) * 1000:.2f} ms")
    for label, with_audit in (("with its audit log", True), ("without an audit log", False)):
        ids = [ingest(users[10], with_audit) for _ in range(count)]
        times = []
        for pk in ids:
            started = time.perf_counter()
            submission_process(submission_id=pk)
            times.append(time.perf_counter() - started)
        print(f"processing a 60-question interview {label}: median {statistics.median(times) * 1000:.1f} ms "
              f"(p90 {sorted(times)[int(0.9 * len(times))] * 1000:.1f} ms) over {count}")
    print(f"{InterviewQuality.objects.filter(audit='read').count()} audit logs read; "
          f"{ScoreCell.objects.count():,} cells")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interviews", type=int, default=50)
    args = parser.parse_args()
    in_test_database(lambda: run(args.interviews))


if __name__ == "__main__":
    main()
