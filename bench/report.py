"""Round tables and exports at scale: a round of 1,000,000 synthetic
processed submissions of a 60-field form on PostgreSQL.

Measured, each in a process of its own (peak memory is that process's):
- rebuild: ``round_tally_rebuild`` recounts the round's tallies from the records;
- report: ``round_tabulate`` for the whole round, by sex and by location,
  read from the tallies (the API's and the admin's path);
- export: ``records_write`` streams the 1,000,000 anonymised records as CSV
  (group paths, select_multiple 0/1 columns, the release step).
Targets (issue 6, issue 16): report < 1 s whole round, by sex and by
location (number questions from their running sums and bucket cells,
ADR 0021); rebuild and CSV export < 2 min each, peak memory < 500 MB.
Measured (issue 16, load average 3–9 on 2 shared cores): report whole round
0.02–0.04 s, by sex 0.04–0.11 s, by location 0.19–0.43 s (about 240 ms of
CPU: 60 in Python, 180 in PostgreSQL; before ADR 0021 1.6–2.3 s, 1,665 ms of
CPU, 1,610 of them PostgreSQL's); rebuild 86 s.

Run: make bench  (or .venv/bin/python bench/report.py --submissions 1000000)
Needs PostgreSQL at BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/mtm_bench_report);
the database is dropped and made again, unless ``--reuse``: a database this
benchmark loaded before (with the same number of submissions) is migrated
and used again, the load skipped. ``--phases report`` (comma-separated, of
rebuild, report, export) runs only those.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mtm_bench_report")
FORM_ID = "bench60"

SELECT_ONE = 20    # sex and region among them
SELECT_MULTIPLE = 10
INTEGERS = 15
DECIMALS = 5
TEXTS = 10


def form_markdown() -> str:
    """A 60-field XLSForm in five groups: 20 select_one, 10 select_multiple, 15 integer, 5 decimal, 10 text."""
    rows = ["| survey |", "| | type | name | label | relevant | privacy |",
            "| | start | start | | | |", "| | end | end | | | |",
            "| | begin group | demo | Demographics | | |",
            "| | select_one sex | sex | Sex | | quasi |", "| | integer | age | Age | | quasi |",
            "| | select_one region | region | Region | | |"]
    for i in range(SELECT_ONE - 2):
        relevant = "${sex} = 'female'" if i < 3 else ""
        rows.append(f"| | select_one l{i % 6} | so{i} | Question so{i} | {relevant} | |")
    rows.append("| | end group | | | | |")
    rows.append("| | begin group | work | Work | | |")
    rows += [f"| | select_multiple m{i % 3} | sm{i} | Question sm{i} | | |" for i in range(SELECT_MULTIPLE)]
    rows += [f"| | integer | n{i} | Number n{i} | | |" for i in range(INTEGERS - 1)]
    rows += [f"| | decimal | d{i} | Amount d{i} | | |" for i in range(DECIMALS)]
    rows.append("| | end group | | | | |")
    rows += [f"| | text | t{i} | Text t{i} | | |" for i in range(TEXTS)]
    rows += ["| choices |", "| | list_name | name | label |", "| | sex | male | Male |",
             "| | sex | female | Female |"]
    rows += [f"| | region | r{i:02d} | Region {i} |" for i in range(17)]
    for n in range(6):
        rows += [f"| | l{n} | c{j} | Choice {j} |" for j in range(3 + n % 4)]
    for n in range(3):
        rows += [f"| | m{n} | o{j} | Option {j} |" for j in range(5)]
    rows += ["| settings |", "| | form_id | version |", f"| | {FORM_ID} | 1 |"]
    return "\n".join(rows) + "\n"


def answers(rng: random.Random) -> tuple[dict, list]:
    sex = "male" if rng.random() < 0.83 else "female"
    out: dict = {"start": "2024-05-02T10:00:00+05:00", "end": "2024-05-02T10:35:00+05:00",
                 "demo/sex": sex, "demo/age": rng.randint(18, 64), "demo/region": f"r{rng.randrange(17):02d}"}
    unanswered = []
    for i in range(SELECT_ONE - 2):
        if i < 3 and sex == "male":
            continue
        if rng.random() < 0.05:
            unanswered.append(f"demo/so{i}")
            continue
        out[f"demo/so{i}"] = f"c{rng.randrange(3 + (i % 6) % 4)}"
    for i in range(SELECT_MULTIPLE):
        out[f"work/sm{i}"] = sorted(rng.sample([f"o{j}" for j in range(5)], rng.randint(1, 3)))
    for i in range(INTEGERS - 1):
        out[f"work/n{i}"] = rng.randint(0, 40)
    for i in range(DECIMALS):
        out[f"work/d{i}"] = round(rng.uniform(0, 500), 1)
    for i in range(TEXTS):
        out[f"t{i}"] = rng.choice(["yes", "no", "some words", "[text]"])
    return out, unanswered


def env() -> dict:
    return {**os.environ, "DATABASE_URL": DB_URL, "DJANGO_SETTINGS_MODULE": "mtm.settings.test",
            "REDIS_URL": ""}


def setup_django() -> None:
    os.environ.update(env())
    os.environ.pop("REDIS_URL")
    import django

    django.setup()


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_load(count: int) -> dict:
    """Stored as processing leaves them (valid, anonymised, counted); the tallies are left for the rebuild."""
    setup_django()
    from django.db import connection

    from surveys.models import Location, Round, Submission
    from surveys.services.questionnaires import questionnaire_import
    from tests.factories import RoundFactory

    RoundFactory(number=4)
    q = questionnaire_import(source=form_markdown().encode(), filename="bench60.md", survey_slug="mtm-kz",
                             round_number=4).questionnaire
    round_ = Round.objects.get(number=4)
    locations = list(Location.objects.values_list("pk", flat=True))
    rng = random.Random(7)
    started = time.perf_counter()
    columns = ["questionnaire_id", "round_id", "form_id", "instance_id", "raw_body", "raw_format", "raw_sha256",
               "user_agent", "received_at", "updated_at", "complete", "deprecated_id", "is_current",
               "attachments_expected", "processing", "processing_error", "answers", "validation", "problems",
               "unanswered", "fingerprint", "location_id", "tallied", "respondent_sex", "encrypted"]
    connection.ensure_connection()
    with connection.connection.cursor() as cursor, cursor.copy(
            f"COPY {Submission._meta.db_table} ({', '.join(columns)}) FROM STDIN") as copy:
        for _ in range(count):
            record, unanswered = answers(rng)
            copy.write_row((q.pk, round_.pk, FORM_ID, f"uuid:{uuid.UUID(int=rng.getrandbits(128))}", b"", "xml",
                            "0" * 64, "bench", "2024-05-02T10:40:00+05:00", "2024-05-02T10:40:00+05:00", True, "",
                            True, 0, "processed", "", json.dumps(record), "valid", "[]", json.dumps(unanswered), "",
                            rng.choice(locations), True, record["demo/sex"][0], False))
    connection.connection.commit()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE surveys_submission")
    return {"round_id": round_.pk, "seconds": round(time.perf_counter() - started, 1), "peak_mb": round(peak_mb())}


def phase_rebuild(round_id: int) -> dict:
    setup_django()
    from surveys.models import RoundTally
    from surveys.services.tallies import round_tally_rebuild

    started = time.perf_counter()
    counted = round_tally_rebuild(round_id=round_id)
    return {"counted": counted, "seconds": round(time.perf_counter() - started, 1),
            "tally_rows": RoundTally.objects.filter(round_id=round_id).count(), "peak_mb": round(peak_mb())}


def phase_report(round_id: int) -> dict:
    setup_django()
    from surveys.selectors.reports import round_tabulate

    out = {}
    for by in (None, "sex", "location"):
        times = []
        for _ in range(3):
            started = time.perf_counter()
            report = round_tabulate(form_id=FORM_ID, round_number=4, by=by)
            times.append(time.perf_counter() - started)
        out[f"by={by}"] = {"best_s": round(min(times), 3), "worst_s": round(max(times), 3),
                           "questions": len(report["questions"]), "submissions": report["submissions"]}
    out["peak_mb"] = round(peak_mb())
    return out


def phase_export(round_id: int) -> dict:
    setup_django()
    from surveys.services.exports import records_write

    path = ROOT / "var" / "bench-export.csv"
    started = time.perf_counter()
    with path.open("wb") as out:
        rows = records_write(round_id=round_id, form_id=FORM_ID, fmt="csv", out=out)
    seconds = time.perf_counter() - started
    size = path.stat().st_size
    path.unlink()
    return {"rows": rows, "seconds": round(seconds, 1), "mb": round(size / 1e6), "peak_mb": round(peak_mb())}


def run_phase(name: str, *args: object) -> dict:
    done = subprocess.run([sys.executable, __file__, "--phase", name, *map(str, args)], env=env(), cwd=ROOT,
                          capture_output=True, text=True, check=False)
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"phase {name} failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def loaded_round(count: int) -> int | None:
    """The round a previous run loaded with ``count`` submissions, if the database has one."""
    import psycopg

    try:
        with psycopg.connect(DB_URL) as conn:
            found = conn.execute("SELECT round_id, COUNT(*) FROM surveys_submission GROUP BY round_id").fetchall()
    except psycopg.Error:
        return None
    return found[0][0] if len(found) == 1 and found[0][1] == count else None


def recreate_database() -> None:
    import psycopg

    base, name = DB_URL.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], env=env(), cwd=ROOT, check=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--submissions", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true",
                        help="use the database a previous run loaded (same --submissions) instead of a new one")
    parser.add_argument("--phases", default="rebuild,report,export",
                        help="comma-separated, of rebuild, report, export (default: all)")
    parser.add_argument("--phase")
    parser.add_argument("arg", nargs="?")
    args = parser.parse_args()
    if args.phase:
        phases = {"load": phase_load, "rebuild": phase_rebuild, "report": phase_report, "export": phase_export}
        print(json.dumps(phases[args.phase](int(args.arg))))
        return
    (ROOT / "var").mkdir(exist_ok=True)
    round_id = loaded_round(args.submissions) if args.reuse else None
    if round_id is None:
        recreate_database()
        load = run_phase("load", args.submissions)
        round_id = load["round_id"]
        print(f"loaded {args.submissions:,} submissions (60 fields) in {load['seconds']} s", flush=True)
    else:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], env=env(), cwd=ROOT, check=True)
        print(f"reused the {args.submissions:,} submissions loaded before", flush=True)
    for name in ("rebuild", "report", "export"):
        if name in args.phases.split(","):
            print(f"{name}: {json.dumps(run_phase(name, round_id))}", flush=True)


if __name__ == "__main__":
    main()
