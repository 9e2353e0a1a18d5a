"""Ingest benchmark: N concurrent clients post realistic 60-field submissions
of the demo questionnaire to a real server (gunicorn, PostgreSQL, Redis),
over keep-alive connections, with Basic auth as Collect sends it. A share of
the posts are resends of an instance already sent (a timed-out upload sent
again). Afterwards the database must hold exactly one row per instanceID.

Run: make bench  (needs PostgreSQL at BENCH_DATABASE_URL and Redis at BENCH_REDIS_URL)
Options: --clients 50 --submissions 10000 --resend 0.05 --workers 4 --threads 8 --worker-class gthread
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
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mtm_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
PORT = int(os.environ.get("BENCH_PORT", "8765"))
BOUNDARY = "----mtmbench7d1f"


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
    return (f'<?xml version="1.0"?><data id="mtm_kz_r4" version="2024040101">{body}'
            f"<meta><instanceID>{instance_id}</instanceID></meta></data>").encode()


def request_bytes(xml: bytes, auth: str, device: str = "collect:bench") -> bytes:
    body = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="xml_submission_file"; '
            f'filename="submission.xml"\r\nContent-Type: text/xml\r\n\r\n').encode() + xml + \
        f"\r\n--{BOUNDARY}--\r\n".encode()
    head = (f"POST /submission?deviceID={device} HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\n"
            f"Authorization: Basic {auth}\r\nX-OpenRosa-Version: 1.0\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


async def read_response(reader: asyncio.StreamReader) -> int:
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        key, _, value = line.decode().partition(":")
        if key.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def client(queue: asyncio.Queue, latencies: list[float], statuses: dict[int, int]) -> None:
    reader = writer = None
    while True:
        try:
            payload = queue.get_nowait()
        except asyncio.QueueEmpty:
            break
        for _attempt in range(3):
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
                start = time.perf_counter()
                writer.write(payload)
                await writer.drain()
                status = await read_response(reader)
                latencies.append(time.perf_counter() - start)
                statuses[status] = statuses.get(status, 0) + 1
                break
            except (ConnectionError, asyncio.IncompleteReadError, IndexError):
                if writer is not None:
                    writer.close()
                reader = writer = None
    if writer is not None:
        writer.close()


def cpu_seconds(parent: int) -> float:
    """User + system CPU of a process group's members (gunicorn master and workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == parent or int(stat.parent.name) == parent:  # fields[2] is the process group
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def wait_for_server(proc: subprocess.Popen) -> None:
    import socket

    for _ in range(200):
        if proc.poll() is not None:
            raise SystemExit("gunicorn exited; see var/bench-gunicorn.log")
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("gunicorn did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--submissions", type=int, default=10000)
    parser.add_argument("--resend", type=float, default=0.05)
    # As mtm/gunicorn.conf.py on 2 cores: 4 processes x 8 threads (threads contend for the GIL under a flood).
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--worker-class", default="gthread")
    args = parser.parse_args()

    try:
        prepare_database()
    except Exception as err:  # noqa: BLE001
        print(f"skipped: PostgreSQL not reachable at {DB_URL} ({err})")
        return
    before = existing_instance_ids()
    fields = demo_fields()
    auth = base64.b64encode(b"enum01:enum-pass").decode()
    ids = [f"uuid:{uuid.uuid4()}" for _ in range(args.submissions)]
    rng = random.Random(7)
    sends = ids + rng.sample(ids, int(len(ids) * args.resend))
    rng.shuffle(sends)
    # Each instance comes from one of 50 tablets.
    payloads = {i: request_bytes(instance(fields, i), auth, f"collect:tablet{n % 50:02d}") for n, i in enumerate(ids)}
    print(f"{len(fields)} fields per submission, {len(payloads[ids[0]])} bytes per request; "
          f"{len(ids)} instances + {len(sends) - len(ids)} resends, {args.clients} clients")

    (ROOT / "var").mkdir(exist_ok=True)
    log = open(ROOT / "var" / "bench-gunicorn.log", "w")
    proc = subprocess.Popen(
        [PY, "-m", "gunicorn", "mtm.wsgi", "-b", f"127.0.0.1:{PORT}", "-k", args.worker_class,
         "-w", str(args.workers), "--threads", str(args.threads), "--keep-alive", "30", "--log-level", "warning"],
        cwd=ROOT, env=server_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_server(proc)
        warm = [f"uuid:{uuid.uuid4()}" for _ in range(args.workers * 4)]
        latencies: list[float] = []
        statuses: dict[int, int] = {}

        async def run(items):
            queue: asyncio.Queue = asyncio.Queue()
            for item in items:
                queue.put_nowait(item)
            await asyncio.gather(*(client(queue, latencies, statuses) for _ in range(args.clients)))

        asyncio.run(run([request_bytes(instance(fields, i), auth) for i in warm]))
        latencies.clear()
        statuses.clear()
        cpu_before = cpu_seconds(proc.pid)
        start = time.perf_counter()
        asyncio.run(run([payloads[i] for i in sends]))
        elapsed = time.perf_counter() - start
        server_cpu = cpu_seconds(proc.pid) - cpu_before
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()

    latencies.sort()
    p50, p99 = statistics.median(latencies) * 1000, latencies[int(len(latencies) * 0.99)] * 1000
    print(f"sent {len(latencies)} in {elapsed:.1f} s: {len(latencies) / elapsed:.0f} submissions/s; "
          f"p50 {p50:.1f} ms, p99 {p99:.1f} ms; statuses {dict(sorted(statuses.items()))}")
    print(f"server CPU {server_cpu / len(latencies) * 1000:.1f} ms per submission (gunicorn workers; "
          f"PostgreSQL and Redis not counted)")
    verify(set(ids) | set(warm), before)


def existing_instance_ids() -> set[str]:
    """What the demo loaded before the run (not sent by this benchmark)."""
    import psycopg

    with psycopg.connect(DB_URL) as conn:
        return {row[0] for row in conn.execute("SELECT instance_id FROM surveys_submission")}


def verify(expected: set[str], before: set[str]) -> None:
    import psycopg

    with psycopg.connect(DB_URL) as conn:
        rows = conn.execute("SELECT instance_id, count(*) FROM surveys_submission "
                            "WHERE NOT (instance_id = ANY(%s)) GROUP BY instance_id", [list(before)]).fetchall()
    stored = {instance_id: count for instance_id, count in rows}
    lost = expected - set(stored)
    duplicated = [i for i, count in stored.items() if count > 1]
    unexpected = set(stored) - expected
    print(f"database: {len(stored)} rows for {len(expected)} instanceIDs sent; lost {len(lost)}, "
          f"duplicated {len(duplicated)}, unexpected {len(unexpected)}")
    if lost or duplicated or unexpected:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
