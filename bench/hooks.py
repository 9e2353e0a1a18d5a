"""REST services: a backlog of 10,000 deliveries to a slow receiver does not delay processing.

A real stack: PostgreSQL, Redis, a processing worker (prefork, 2 processes, the default queue) and the
hooks' worker (`make hook-worker`: its own queue, 8 threads), and a receiver (http.server) that takes
SLOW seconds to answer each POST. Phase 1 ingests N interviews with no hook and times their processing;
phase 2 adds a hook to the slow receiver with 10,000 deliveries waiting in its queue, ingests N more and
times them again. Processing must not slow down: the backlog waits on its own queue and worker.

Run: make bench  (or .venv/bin/python bench/hooks.py [--n 200] [--backlog 10000] [--slow 2]); PostgreSQL
at BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/mtm_hooks_bench, dropped and created)
and Redis at BENCH_REDIS_URL (default redis://127.0.0.1:6379/13; only the bench's own queues are emptied).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mtm_hooks_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
QUEUE = "mtm-hooks-bench"
ENV = {"DATABASE_URL": DB_URL, "REDIS_URL": REDIS_URL, "MTM_CELERY_QUEUE": QUEUE,
       "DJANGO_SETTINGS_MODULE": "mtm.settings.local", "DJANGO_SECRET_KEY": "bench-secret",
       "MTM_HOOK_TIMEOUT_SECONDS": "5", "MTM_HOOK_RETRY_DELAYS": "60", "MTM_SWEEP_SECONDS": "3600"}
os.environ.update(ENV)


def prepare() -> None:
    import psycopg
    import redis

    base, name = DB_URL.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    redis.Redis.from_url(REDIS_URL).delete(QUEUE, f"{QUEUE}-hooks")  # its own queues only: the db may be shared


def slow_receiver(seconds: float) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            time.sleep(seconds)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def workers() -> list[subprocess.Popen]:
    env = {**os.environ, **ENV}
    log = open(ROOT / "var" / "bench-hooks-workers.log", "w")
    common = [sys.executable, "-m", "celery", "-A", "mtm", "worker", "--loglevel", "WARNING", "--without-gossip",
              "--without-mingle"]
    return [subprocess.Popen([*common, "-Q", QUEUE, "-n", f"{QUEUE}@bench", "--pool", "prefork", "--concurrency",
                              "2"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT),
            subprocess.Popen([*common, "-Q", f"{QUEUE}-hooks", "-n", f"{QUEUE}-hooks@bench", "--pool", "threads",
                              "--concurrency", "8"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)]


def ingest_and_time(n: int, offset: int) -> tuple[float, list[float]]:
    """Ingest ``n`` interviews (each enqueued for processing on commit) and wait until all are processed:
    the wall time from the first post, and each one's latency (received → processed)."""
    from enumerators.models import User
    from surveys.models import Submission
    from surveys.services.ingest import Sender, submission_ingest_xml
    from tests.surveys.api.kobo.conftest import household_instance

    user = User.objects.get(username="enum01")
    began = time.perf_counter()
    ids = [submission_ingest_xml(xml=household_instance(age=str(20 + (offset + i) % 50)),
                                 sender=Sender(user=user)).submission.pk for i in range(n)]
    deadline = time.monotonic() + 600
    while Submission.objects.filter(pk__in=ids, processing="processed").count() < n:
        if time.monotonic() > deadline:
            raise SystemExit("processing did not finish within 10 minutes")
        time.sleep(0.1)
    wall = time.perf_counter() - began
    rows = Submission.objects.filter(pk__in=ids).values_list("received_at", "processed_at")
    return wall, sorted((done - got).total_seconds() for got, done in rows)


def copies(size: int) -> None:
    """``size`` copies of a processed interview (another day, so no check of the round counts them), made
    before either phase so that both run on the same database."""
    import datetime as dt

    from django.db import connection

    from surveys.models import Submission

    model = Submission.objects.filter(processing="processed").values().first()
    assert model is not None
    keep = {k: v for k, v in model.items() if k not in ("id", "instance_id", "previous_id", "interview_date",
                                                        "fingerprint")}
    rows = [Submission(**keep, instance_id=f"uuid:backlog-{n:06d}", fingerprint=f"{n:064x}",
                       interview_date=dt.date(2020, 1, 1)) for n in range(size)]
    Submission.objects.bulk_create(rows, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def backlog(hook_id: int) -> int:
    """A pending delivery of every copy to the hook, each enqueued on the hooks' queue (one connection)."""
    from django.conf import settings

    from mtm.celery import app
    from surveys.models import HookDelivery, Submission
    from surveys.tasks import hook_deliver_task

    ids = Submission.objects.filter(instance_id__startswith="uuid:backlog-").values_list("id", flat=True)
    HookDelivery.objects.bulk_create([HookDelivery(hook_id=hook_id, submission_id=pk) for pk in ids],
                                     batch_size=2000)
    pending = list(HookDelivery.objects.filter(hook_id=hook_id).values_list("id", flat=True))
    with app.producer_or_acquire() as producer:
        for pk in pending:
            hook_deliver_task.apply_async(args=(pk,), queue=settings.MTM_HOOK_QUEUE, producer=producer)
    return len(pending)


def summary(name: str, wall: float, latencies: list[float]) -> str:
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    return (f"{name}: {len(latencies)} processed in {wall:.1f} s ({len(latencies) / wall:.1f}/s), latency median "
            f"{statistics.median(latencies):.2f} s, p95 {p95:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--backlog", type=int, default=10_000)
    parser.add_argument("--slow", type=float, default=2.0)
    args = parser.parse_args()
    (ROOT / "var").mkdir(exist_ok=True)
    prepare()
    import django

    django.setup()
    import redis
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    from surveys.models import HookDelivery, Survey
    from surveys.selectors.kobo.assets import asset_of_form
    from surveys.services.hooks.config import HookInput, hook_create
    from surveys.services.questionnaires import questionnaire_import
    from tests.factories import AssignmentFactory, EnumeratorFactory, RoundFactory, UserFactory
    from tests.forms import form_bytes

    RoundFactory()
    form = questionnaire_import(source=form_bytes("household.md"), filename="household.md",
                                survey_slug=Survey.objects.get().slug, round_number=4).questionnaire
    AssignmentFactory(enumerator=EnumeratorFactory(user=UserFactory(username="enum01")), round=form.round)
    owner = UserFactory(username="owner", is_superuser=True)
    receiver = slow_receiver(args.slow)
    procs = workers()
    try:
        time.sleep(8)  # the workers start
        ingest_and_time(20, offset=0)  # warm-up: imports, caches, connections
        copies(args.backlog)
        base_wall, base = ingest_and_time(args.n, offset=100)
        print(summary("no hook", base_wall, base))
        hook = hook_create(user=owner, asset=asset_of_form(form_id="household"),
                           data=HookInput(name="slow", endpoint=f"http://127.0.0.1:{receiver.server_address[1]}/"))
        began = time.perf_counter()
        backlog(hook.pk)
        queued = redis.Redis.from_url(REDIS_URL).llen(f"{QUEUE}-hooks")
        print(f"backlog: {args.backlog} deliveries to a receiver taking {args.slow:.1f} s each, enqueued in "
              f"{time.perf_counter() - began:.1f} s ({queued} messages waiting)")
        wall, latencies = ingest_and_time(args.n, offset=300)
        print(summary("with the backlog", wall, latencies))
        done = HookDelivery.objects.filter(status=HookDelivery.Status.SUCCESS).count()
        waiting = redis.Redis.from_url(REDIS_URL).llen(f"{QUEUE}-hooks")
        print(f"meanwhile {done} deliveries succeeded; {waiting} messages still waiting on the hooks' queue")
        ratio = statistics.median(latencies) / statistics.median(base)
        print(f"median latency with the backlog / without: {ratio:.2f}")
        if wall > base_wall * 1.5 + 2:
            raise SystemExit("processing slowed down behind the REST deliveries")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        receiver.shutdown()


if __name__ == "__main__":
    main()
