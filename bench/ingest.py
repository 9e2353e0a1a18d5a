"""Ingest benchmark, end to end: N concurrent clients post realistic 60-field submissions of the demo
questionnaire to a real server (gunicorn with mtm/gunicorn.conf.py, PostgreSQL, Redis) while one Celery
worker processes them, over keep-alive connections, with Basic auth as Collect sends it. A share of the
posts are resends of an instance already sent (a timed-out upload sent again).

Reported for each number of clients (10 and 50 by default): accepted/s (posts answered), processed/s
(instances until the last is processed), p50/p99 of the posts, and the CPU milliseconds each submission
costs until processed by process (gunicorn's processes, the worker's processes, the PostgreSQL backends
serving the database: /proc/<pid>/stat utime + stime), the SQL statements each costs (counted in the
server and worker processes by bench/support/statements/sitecustomize.py) and PostgreSQL's own counters
(pg_stat_database: transactions and rows). The database must hold exactly one row per instanceID and
every one processed. The machine's load average is printed with the figures: CPU ms, not wall time, is
what compares across runs on a shared machine.

Run: .venv/bin/python bench/ingest.py  (PostgreSQL at BENCH_DATABASE_URL, Redis at BENCH_REDIS_URL,
the server on BENCH_PORT)
Options: --clients 10 50 --submissions 2000 --resend 0.05 --workers 4 --threads 8 --connections 8
--worker-concurrency 1 --worker-nice 0, --no-worker (ingest alone), --backlog 5000 (one worker through a
backlog of 5,000; with --worker-concurrency 2 as `make worker` starts it on 2 cores). Each run also prints each
client's mean post time, fastest, median and slowest: how evenly the server shares itself between tablets.

Last figures (2026-11-30, third pass, docs/adr/0018; load 3-8, 3 runs): C=10 10.6-13.5 ms CPU per submission,
122-158 processed/s, p99 109-133 ms; C=50 10.9-12.4 ms, 120-135 processed/s, p50/p99 202-247/399-457 ms, each
client's mean 190-296 ms; a backlog of 10,000 at 331/s (2 processes).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mtm_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
PORT = int(os.environ.get("BENCH_PORT", "8765"))
BOUNDARY = "----mtmbench7d1f"
#: The demo form's version, read from its XLSForm by :func:`demo_fields` (an instance of another is refused).
FORM_VERSION = ""


def server_env() -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": DB_URL, "REDIS_URL": REDIS_URL, "MTM_CELERY_QUEUE": "mtm-bench",
            "DJANGO_SETTINGS_MODULE": "mtm.settings.local", "DJANGO_SECRET_KEY": "bench-secret",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1"}


def prepare_database() -> None:
    import psycopg

    base, name = DB_URL.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    for command in (["migrate", "--noinput", "-v0"], ["load_demo"]):
        subprocess.run([PY, "manage.py", *command], cwd=ROOT, env=server_env(), check=True,
                       stdout=subprocess.DEVNULL)


def demo_fields() -> list[tuple[str, str, list[str]]]:
    """(path, type, choice names) of the demo form's answerable fields, in order."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mtm.settings.test")
    from surveys.services.xlsform import xlsform_convert

    schema = xlsform_convert(source=(ROOT / "surveys/demo/forms/mtm_kz_r4.md").read_bytes(),
                             filename="mtm_kz_r4.md").schema
    global FORM_VERSION
    FORM_VERSION = schema["version"]
    out = []
    for f in schema["fields"]:
        if f["type"] in ("group", "repeat", "note") or f["repeat"] or f["path"].startswith("meta"):
            continue
        out.append((f["path"], f["type"], [c["name"] for c in schema["choices"].get(f["list_name"] or "", [])]))
    return out


def instance(fields, instance_id: str) -> bytes:
    """A 60-field instance with plausible values, nested by group."""
    rnd = random.Random(instance_id)
    values: dict[str, str] = {}
    for path, ftype, choices in fields:
        if ftype in ("select_one", "select_multiple") and choices:
            values[path] = rnd.choice(choices)
        elif ftype in ("integer", "decimal"):
            values[path] = str(rnd.randint(0, 60))
        elif ftype in ("start", "end"):
            values[path] = "2024-05-02T10:15:00.000+05:00"
        elif ftype == "today":
            values[path] = "2024-05-02"
        elif ftype == "geopoint":
            values[path] = f"43.{rnd.randint(100000, 999999)} 76.{rnd.randint(100000, 999999)} 800 5"
        else:
            values[path] = "text answer"
    values["consent"] = "yes"
    parts, open_groups = [], []
    for path, value in values.items():
        *groups, name = path.split("/")
        while open_groups and open_groups != groups[: len(open_groups)]:
            parts.append(f"</{open_groups.pop()}>")
        for group in groups[len(open_groups):]:
            parts.append(f"<{group}>")
            open_groups.append(group)
        parts.append(f"<{name}>{value}</{name}>")
    while open_groups:
        parts.append(f"</{open_groups.pop()}>")
    body = "".join(parts)
    return (f'<?xml version="1.0"?><data id="mtm_kz_r4" version="{FORM_VERSION}">{body}'
            f"<meta><instanceID>{instance_id}</instanceID></meta></data>").encode()


def request_bytes(xml: bytes, auth: str, device: str = "collect:bench") -> bytes:
    body = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="xml_submission_file"; '
            f'filename="submission.xml"\r\nContent-Type: text/xml\r\n\r\n').encode() + xml + \
        f"\r\n--{BOUNDARY}--\r\n".encode()
    head = (f"POST /submission?deviceID={device} HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\n"
            f"Authorization: Basic {auth}\r\nX-OpenRosa-Version: 1.0\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """The status, and whether the server closes the connection after this response (Connection: close)."""
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    length, close = 0, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        key, _, value = line.decode().partition(":")
        if key.lower() == "content-length":
            length = int(value)
        elif key.lower() == "connection":
            close = value.strip().lower() == "close"
    await reader.readexactly(length)
    return status, close


async def client(queue: asyncio.Queue, latencies: list[float], statuses: dict[int, int], auth: str,
                 device: str, mine: list[float] | None = None) -> None:
    """One tablet (``device``) posting the instances it takes from ``queue`` one after another on a kept-alive
    connection, as Collect's HTTP client does: a new connection when the server closed the last one (the
    connect counts in the post's time) and up to 3 attempts."""
    reader = writer = None
    while True:
        try:
            payload = request_bytes(queue.get_nowait(), auth, device)
        except asyncio.QueueEmpty:
            break
        start = time.perf_counter()
        for _attempt in range(3):
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
                writer.write(payload)
                await writer.drain()
                status, close = await read_response(reader)
                latencies.append(time.perf_counter() - start)
                if mine is not None:
                    mine.append(latencies[-1])
                statuses[status] = statuses.get(status, 0) + 1
                if close:
                    writer.close()
                    reader = writer = None
                break
            except (ConnectionError, asyncio.IncompleteReadError, IndexError):
                if writer is not None:
                    writer.close()
                reader = writer = None
    if writer is not None:
        writer.close()


def _stat(pid: int) -> list[str] | None:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def postmaster_pid() -> int | None:
    """The PostgreSQL server's main process (its backends are its children)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        cmd = _cmdline(int(stat.parent.name))
        if "postgres" in cmd and " -D " in cmd:
            return int(stat.parent.name)
    return None


class CpuMeter:
    """User + system CPU (ms) by role: the gunicorn processes (master and workers: one process group), the
    Celery worker's processes (another group) and the PostgreSQL backends serving the benchmark's database
    (the postmaster's children whose title names it). Sampled every 0.2 s, so a backend that ends between
    two samples is counted up to its last sample; each process counts from its first sample (or from zero
    when it started during the run)."""

    def __init__(self, groups: dict[str, int], database: str) -> None:
        self.groups, self.database = groups, database
        self.tick = os.sysconf("SC_CLK_TCK")
        self.postmaster = postmaster_pid()
        self.first: dict[int, float] = {}
        self.last: dict[int, tuple[str, float]] = {}
        self.started = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _roles(self) -> dict[int, tuple[str, float]]:
        found: dict[int, tuple[str, float]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            pid = int(stat.parent.name)
            fields = _stat(pid)
            if fields is None:
                continue
            ppid, pgrp = int(fields[1]), int(fields[2])
            role = next((name for name, group in self.groups.items() if pgrp == group), None)
            if role is None and self.postmaster and ppid == self.postmaster and \
                    f" {self.database} " in _cmdline(pid):
                role = "postgresql"
            if role is not None:
                found[pid] = (role, (int(fields[11]) + int(fields[12])) / self.tick * 1000)
        return found

    def sample(self) -> None:
        for pid, (role, ms) in self._roles().items():
            if pid not in self.first:
                self.first[pid] = ms if not self.started else 0.0
            self.last[pid] = (role, ms)

    def start(self) -> None:
        self.sample()
        self.started = True

        def loop() -> None:
            while not self._stop.wait(0.2):
                self.sample()

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()

    def stop(self) -> dict[str, float]:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self.sample()
        totals: dict[str, float] = {name: 0.0 for name in (*self.groups, "postgresql")}
        for pid, (role, ms) in self.last.items():
            totals[role] += ms - self.first[pid]
        return totals


def wait_for_server(proc: subprocess.Popen) -> None:
    import socket

    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit("gunicorn exited; see var/bench-gunicorn.log")
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("gunicorn did not start")


def database_counters() -> dict[str, int]:
    import psycopg

    name = DB_URL.rsplit("/", 1)[1]
    with psycopg.connect(DB_URL, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute("SELECT xact_commit + xact_rollback, tup_inserted, tup_updated, tup_deleted, "
                           "tup_returned + tup_fetched FROM pg_stat_database WHERE datname = %s", [name]).fetchone()
    return dict(zip(("transactions", "inserted", "updated", "deleted", "read"), row, strict=True))


def statements_counted(directory: Path) -> int:
    return sum(int(f.read_text() or 0) for f in directory.iterdir()) if directory.exists() else 0


def pending(instance_ids: list[str]) -> tuple[int, int]:
    """(stored, still unprocessed) of the benchmark's instances."""
    import psycopg

    with psycopg.connect(DB_URL) as conn:
        stored, waiting = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE processing = 'pending') FROM surveys_submission "
            "WHERE instance_id = ANY(%s)", [instance_ids]).fetchone()
    return stored, waiting


def start_processes(args: argparse.Namespace, statements: Path,
                    with_worker: bool = True) -> tuple[subprocess.Popen, subprocess.Popen | None]:
    env = {**server_env(), "MTM_BIND": f"127.0.0.1:{PORT}", "MTM_WEB_WORKERS": str(args.workers),
           "MTM_WEB_THREADS": str(args.threads),
           **({"MTM_WEB_CONNECTIONS": str(args.connections)} if args.connections else {}),
           "MTM_BENCH_STATEMENTS_DIR": str(statements),
           "PYTHONPATH": str(ROOT / "bench" / "support" / "statements")}
    (ROOT / "var").mkdir(exist_ok=True)
    import socket

    with socket.socket() as probe:  # another server there would answer instead, unmeasured
        if probe.connect_ex(("127.0.0.1", PORT)) == 0:
            raise SystemExit(f"port {PORT} is taken by another server; set BENCH_PORT")
    web = subprocess.Popen(
        [PY, "-m", "gunicorn", "mtm.wsgi", "-c", "mtm/gunicorn.conf.py",
         "--log-level", "warning", "-k", args.worker_class],
        cwd=ROOT, env=env, stdout=open(ROOT / "var" / "bench-gunicorn.log", "w"), stderr=subprocess.STDOUT,
        start_new_session=True)
    return web, start_worker(args, statements) if with_worker and not args.no_worker else None


def start_worker(args: argparse.Namespace, statements: Path) -> subprocess.Popen:
    env = {**server_env(), "MTM_BENCH_STATEMENTS_DIR": str(statements),
           "PYTHONPATH": str(ROOT / "bench" / "support" / "statements")}
    return subprocess.Popen(
        [*(["nice", "-n", str(args.worker_nice)] if args.worker_nice else []),
         PY, "-m", "celery", "-A", "mtm", "worker", "--loglevel", "WARNING", "-c", str(args.worker_concurrency),
         "-Q", server_env()["MTM_CELERY_QUEUE"], "-n", "bench@%h", "--without-gossip", "--without-mingle",
         "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=open(ROOT / "var" / "bench-worker.log", "w"), stderr=subprocess.STDOUT,
        start_new_session=True)


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def run_load(args: argparse.Namespace, clients: int, fields, auth: str) -> dict[str, float]:
    ids = [f"uuid:{uuid.uuid4()}" for _ in range(args.submissions)]
    rng = random.Random(7)
    sends = ids + rng.sample(ids, int(len(ids) * args.resend))
    rng.shuffle(sends)
    payloads = {i: instance(fields, i) for i in ids}
    latencies: list[float] = []
    per_client: list[list[float]] = [[] for _ in range(clients)]
    statuses: dict[int, int] = {}

    async def run(items):
        queue: asyncio.Queue = asyncio.Queue()
        for item in items:
            queue.put_nowait(item)
        await asyncio.gather(*(client(queue, latencies, statuses, auth, f"collect:tablet{n:02d}", per_client[n])
                               for n in range(clients)))

    statements = ROOT / "var" / "bench-statements"
    for f in statements.glob("*"):
        f.unlink()
    statements.mkdir(parents=True, exist_ok=True)
    web, worker = start_processes(args, statements)
    try:
        wait_for_server(web)
        # Warm as long-running servers are: every client connected and every server thread with its database
        # connection (the first second of 50 new connections and as many new PostgreSQL backends is not a
        # steady state: up to 1.6 s a post).
        warm = [f"uuid:{uuid.uuid4()}" for _ in range(max(args.workers * 4, clients * 3))]
        asyncio.run(run([instance(fields, i) for i in warm]))
        if worker is not None:  # the warm-up processed before measuring
            deadline = time.time() + 120
            while pending(warm)[1] and time.time() < deadline:
                time.sleep(0.2)
        latencies.clear()
        for mine in per_client:
            mine.clear()
        statuses.clear()
        time.sleep(1.0)  # the statement counters written
        counters, statements_before = database_counters(), statements_counted(statements)
        meter = CpuMeter({"web": web.pid, **({"worker": worker.pid} if worker else {})}, DB_URL.rsplit("/", 1)[1])
        meter.start()
        start = time.perf_counter()
        asyncio.run(run([payloads[i] for i in sends]))
        accepted_in = time.perf_counter() - start
        processed_in = None
        if worker is not None:
            deadline = time.time() + args.process_timeout
            while time.time() < deadline:
                if pending(ids)[1] == 0:
                    processed_in = time.perf_counter() - start
                    break
                time.sleep(0.1)
        cpu = meter.stop()
        time.sleep(1.0)
        counters_after, statements_after = database_counters(), statements_counted(statements)
    finally:
        stop(web)
        stop(worker)
    n = len(ids)
    latencies.sort()
    out = {"clients": clients, "posts": len(latencies), "accepted_s": len(latencies) / accepted_in,
           "processed_s": n / processed_in if processed_in else 0.0,
           "p50": statistics.median(latencies) * 1000, "p99": latencies[int(len(latencies) * 0.99)] * 1000,
           # How evenly the server shares itself: each client's mean post time, slowest against fastest.
           "client_means": sorted(statistics.mean(mine) * 1000 for mine in per_client if mine),
           "statuses": dict(sorted(statuses.items())),
           "statements": (statements_after - statements_before) / n,
           **{f"cpu_{role}": ms / n for role, ms in cpu.items()},
           **{f"db_{k}": (counters_after[k] - counters[k]) / n for k in counters}}
    out["cpu_total"] = sum(ms for ms in cpu.values()) / n
    lost, duplicated = verify(set(ids) | set(warm))
    out["lost"], out["duplicated"] = lost, duplicated
    if worker is not None and processed_in is None:
        out["unprocessed"] = pending(ids)[1]
    return out


def run_backlog(args: argparse.Namespace, fields, auth: str) -> None:
    """A backlog: ``--backlog`` interviews posted with no worker running, then one worker started alone
    and timed until every one is processed (its CPU and PostgreSQL's per interview)."""
    ids = [f"uuid:{uuid.uuid4()}" for _ in range(args.backlog)]

    async def post_all(items):
        queue: asyncio.Queue = asyncio.Queue()
        for item in items:
            queue.put_nowait(item)
        await asyncio.gather(*(client(queue, [], {}, auth, f"collect:tablet{n:02d}") for n in range(50)))

    statements = ROOT / "var" / "bench-statements"
    statements.mkdir(parents=True, exist_ok=True)
    web, _ = start_processes(args, statements, with_worker=False)
    try:
        wait_for_server(web)
        asyncio.run(post_all([instance(fields, i) for i in ids]))
    finally:
        stop(web)
    stored, waiting = pending(ids)
    print(f"backlog: {stored} stored, {waiting} pending; one worker starts")
    worker = start_worker(args, statements)
    meter = CpuMeter({"worker": worker.pid}, DB_URL.rsplit("/", 1)[1])
    meter.start()
    start = time.perf_counter()
    try:
        deadline = time.time() + args.process_timeout
        while pending(ids)[1] and time.time() < deadline:
            time.sleep(0.5)
        elapsed = time.perf_counter() - start
        cpu = meter.stop()
    finally:
        stop(worker)
    left = pending(ids)[1]
    rate = (len(ids) - left) / elapsed
    print(f"backlog of {len(ids)}: processed in {elapsed:.1f} s ({rate:.1f}/s, worker start included; "
          f"100,000 at this rate: {100_000 / rate / 60:.1f} min); CPU ms per interview: worker "
          f"{cpu['worker'] / len(ids):.1f}, PostgreSQL {cpu['postgresql'] / len(ids):.1f}; left {left}; "
          f"load {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--submissions", type=int, default=2000)
    parser.add_argument("--resend", type=float, default=0.05)
    # As mtm/gunicorn.conf.py on 2 cores: 4 processes x 8 threads.
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--connections", type=int, default=None,
                        help="MTM_WEB_CONNECTIONS, connections a gunicorn process holds (the conf's: one a thread)")
    parser.add_argument("--worker-class", default="gthread")
    parser.add_argument("--worker-concurrency", type=int, default=1, help="processes of the one Celery worker")
    parser.add_argument("--worker-nice", type=int, default=0, help="run the worker at this nice value")
    parser.add_argument("--no-worker", action="store_true", help="ingest alone (the submissions stay pending)")
    parser.add_argument("--process-timeout", type=float, default=600)
    parser.add_argument("--backlog", type=int, default=0,
                        help="instead: post this many with no worker, then time one worker through the backlog")
    args = parser.parse_args()

    try:
        prepare_database()
    except Exception as err:  # noqa: BLE001
        print(f"skipped: PostgreSQL not reachable at {DB_URL} ({err})")
        return
    fields = demo_fields()
    auth = base64.b64encode(b"enum01:enum-pass").decode()
    print(f"{len(fields)} fields per submission; {args.submissions} instances + {args.resend:.0%} resends per run; "
          f"gunicorn {args.workers} x {args.threads} {args.worker_class}; "
          + ("no worker" if args.no_worker else f"one Celery worker, {args.worker_concurrency} process(es)"))
    print(f"load before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    if args.backlog:
        run_backlog(args, fields, auth)
        return
    failed = False
    for clients in args.clients:
        r = run_load(args, clients, fields, auth)
        print(f"C={clients}: accepted {r['accepted_s']:.1f}/s, processed {r['processed_s']:.1f}/s, "
              f"p50/p99 {r['p50']:.0f}/{r['p99']:.0f} ms, statuses {r['statuses']}")
        means = r["client_means"]
        print(f"  each client's mean post: fastest {means[0]:.0f} ms, median {statistics.median(means):.0f} ms, "
              f"slowest {means[-1]:.0f} ms")
        print(f"  CPU ms per submission until processed: {r['cpu_total']:.1f} (web {r['cpu_web']:.1f}, "
              f"worker {r.get('cpu_worker', 0.0):.1f}, PostgreSQL {r['cpu_postgresql']:.1f})")
        print(f"  per submission: {r['statements']:.1f} statements, {r['db_transactions']:.1f} transactions, "
              f"rows inserted {r['db_inserted']:.1f}, updated {r['db_updated']:.1f}, deleted {r['db_deleted']:.1f}, "
              f"read {r['db_read']:.0f}")
        print(f"  lost {r['lost']}, duplicated {r['duplicated']}"
              + (f", UNPROCESSED {r['unprocessed']}" if "unprocessed" in r else "")
              + f"; load {os.getloadavg()[0]:.2f}")
        failed |= bool(r["lost"] or r["duplicated"] or r.get("unprocessed"))
    if failed:
        raise SystemExit(1)


def verify(expected: set[str]) -> tuple[int, int]:
    """(lost, duplicated) of the instanceIDs sent."""
    import psycopg

    with psycopg.connect(DB_URL) as conn:
        rows = conn.execute("SELECT instance_id, count(*) FROM surveys_submission WHERE instance_id = ANY(%s) "
                            "GROUP BY instance_id", [list(expected)]).fetchall()
    stored = dict(rows)
    return len(expected - set(stored)), sum(1 for count in stored.values() if count > 1)


if __name__ == "__main__":
    main()
