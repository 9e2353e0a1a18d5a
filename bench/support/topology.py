"""The production topology for the benchmarks that need it (bench/slow_clients.py, bench/memory.py):
PostgreSQL with a round of 30,000 records, gunicorn with mtm/gunicorn.conf.py and production settings,
nginx in front (mtm/nginx.conf through mtm.proxy) when asked, and a Celery worker on Redis.

``code`` is the tree that is served: this one, or another checkout (``git archive main | tar -x -C DIR``)
to measure the code before a change with the same scripts."""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PY = sys.executable
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mtm_13e_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
RECORDS = 30_000
#: A production environment of its own (the keys are the benchmark's, nothing real).
SECRETS = {"DJANGO_SECRET_KEY": "bench-secret-key-not-for-production",
           "MTM_RAW_KEY": "9xkl2m4i3m3nZ0rWcVqB3r6o8Yb1ZrR9dQ2lq7mJ1V0=",
           "MTM_PSEUDONYM_KEY": "bench-pseudonym-key", "MTM_DIGEST_KEY": "Zq3kq0b4o3r9p5FJt6aVY0m2Zy7WkLx1c3VZqkq8L0c="}


def service_env(code: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, **SECRETS, "DATABASE_URL": DB_URL, "REDIS_URL": REDIS_URL,
           "MTM_CELERY_QUEUE": "mtm-13e-bench", "DJANGO_SETTINGS_MODULE": "mtm.settings.production",
           "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost", "MTM_DATA_DIR": str(code / "var" / "bench"),
           "PYTHONPATH": str(code), **extra}
    env.pop("MTM_GUNICORN_CONTROL_SOCKET", None)
    return env


def prepare(*, keep: bool = False) -> None:
    """A database with the demo and its processed interviews copied to :data:`RECORDS` records of round 4
    and Redis's database emptied (both skipped with ``keep`` when the records are already there)."""
    import psycopg
    import redis

    base, name = DB_URL.rsplit("/", 1)
    if keep:
        try:
            with psycopg.connect(DB_URL) as conn:
                if conn.execute("SELECT count(*) FROM surveys_submission").fetchone()[0] >= RECORDS:
                    return  # Redis left as it is: the database may be shared with a test run
        except psycopg.Error:
            pass
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    redis.Redis.from_url(REDIS_URL).flushdb()
    code = ROOT  # the same tables before and after: this tree's migrations and demo
    local = service_env(code, DJANGO_SETTINGS_MODULE="mtm.settings.local")
    local.pop("REDIS_URL")  # the demo's interviews processed in-process
    for command in (["migrate", "--noinput", "-v0"], ["load_demo"]):
        subprocess.run([PY, "manage.py", *command], cwd=code, env=local, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([PY, "-c", f"import django; django.setup(); from bench.support.records import copy_to; "
                              f"copy_to({RECORDS})"], cwd=ROOT, env={**local, "PYTHONPATH": str(ROOT)}, check=True)


def topology_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every topology benchmark takes: the code to serve, the kept database, the port."""
    parser.add_argument("--code", type=Path, default=ROOT, help="the tree to serve (another commit's checkout)")
    parser.add_argument("--keep", action="store_true", help="reuse the prepared database when it is there")
    parser.add_argument("--port", type=int, default=8131)


def prepared(*, keep: bool) -> bool:
    """:func:`prepare`, or False (said) when PostgreSQL or Redis cannot be reached: the benchmark is skipped."""
    try:
        prepare(keep=keep)
    except Exception as err:  # noqa: BLE001
        print(f"skipped: PostgreSQL / Redis not reachable ({err})")
        return False
    return True


def wait_for_port(port: int, proc: subprocess.Popen, what: str, log: Path) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited; see {log}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{what} did not start; see {log}")


@dataclass
class Topology:
    port: int  # where clients connect: nginx, or gunicorn without it
    gunicorn: subprocess.Popen
    proxied: bool

    def worker_pids(self) -> list[int]:
        """gunicorn's worker processes (the master's children)."""
        children = Path(f"/proc/{self.gunicorn.pid}/task/{self.gunicorn.pid}/children").read_text().split()
        return [int(pid) for pid in children]


@contextmanager
def running(code: Path = ROOT, *, proxy: bool = True, threads: int | None = None, workers: int | None = None,
            port: int = 8131) -> Iterator[Topology]:
    """gunicorn (mtm/gunicorn.conf.py of ``code``) on ``port + 1`` behind nginx on ``port`` (or on
    ``port`` itself without ``proxy``), and a Celery worker; stopped on exit."""
    logs = ROOT / "var" / f"bench-topology-{port}"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    upstream = port + 1 if proxy else port
    extra = {"MTM_BIND": f"127.0.0.1:{upstream}", "MTM_TRUSTED_PROXIES": "1" if proxy else "0"}
    if threads is not None:
        extra["MTM_WEB_THREADS"] = str(threads)
    if workers is not None:
        extra["MTM_WEB_WORKERS"] = str(workers)
    env = service_env(code, **extra)
    started: list[subprocess.Popen] = []
    try:
        worker_log = logs / "celery.log"
        started.append(subprocess.Popen(
            [PY, "-m", "celery", "-A", "mtm", "worker", "-Q", env["MTM_CELERY_QUEUE"], "--concurrency", "1",
             "--loglevel", "WARNING"], cwd=code, env=env, stdout=worker_log.open("w"), stderr=subprocess.STDOUT,
            start_new_session=True))
        gunicorn_log = logs / "gunicorn.log"
        gunicorn = subprocess.Popen(
            [PY, "-m", "gunicorn", "mtm.wsgi", "-c", "mtm/gunicorn.conf.py", "--access-logfile", "/dev/null"],
            cwd=code, env=env, stdout=gunicorn_log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
        started.append(gunicorn)
        wait_for_port(upstream, gunicorn, "gunicorn", gunicorn_log)
        if proxy:
            prefix = logs / "nginx"
            prefix.mkdir()
            subprocess.run([PY, "-m", "mtm.proxy", "--listen", f"127.0.0.1:{port}", "--upstream",
                            f"127.0.0.1:{upstream}", "--out", str(prefix / "nginx.conf")], cwd=ROOT, env=env,
                           check=True)
            nginx_log = logs / "nginx.log"
            user = "user root;" if os.geteuid() == 0 else ""
            nginx = subprocess.Popen(["nginx", "-p", str(prefix), "-c", "nginx.conf", "-g", f"daemon off; {user}"],
                                     stdout=nginx_log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
            started.append(nginx)
            wait_for_port(port, nginx, "nginx", nginx_log)
        yield Topology(port=port, gunicorn=gunicorn, proxied=proxy)
    finally:
        for proc in reversed(started):
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(proc.pid, signal.SIGKILL)


# -- clients ------------------------------------------------------------------------------------------

BOUNDARY = "----mtm13ebench"
AUTH = base64.b64encode(b"enum01:enum-pass").decode()


def instance_xml(instance_id: str) -> bytes:
    """A short consenting interview of the demo form (what it holds does not matter: it is stored first)."""
    return (f'<?xml version="1.0"?><data id="mtm_kz_r4" version="2024040102"><consent>yes</consent>'
            f"<meta><instanceID>{instance_id}</instanceID></meta></data>").encode()


def multipart(xml: bytes, photo: bytes = b"") -> bytes:
    parts = [(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="xml_submission_file"; '
              f'filename="submission.xml"\r\nContent-Type: text/xml\r\n\r\n').encode() + xml + b"\r\n"]
    if photo:
        parts.append((f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="photo.jpg"; filename="photo.jpg"'
                      f"\r\nContent-Type: image/jpeg\r\n\r\n").encode() + photo + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def post_head(port: int, length: int) -> bytes:
    return (f"POST /submission?deviceID=collect:bench HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Basic {AUTH}\r\nX-OpenRosa-Version: 1.0\r\nConnection: close\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {length}\r\n\r\n").encode()


async def read_status(reader: asyncio.StreamReader) -> int:
    line = await reader.readline()
    return int(line.split()[1]) if line else 0


async def tablet_post(port: int) -> tuple[float, int]:
    """An ordinary post of a new interview: (seconds to its answer's status line, the status)."""
    body = multipart(instance_xml(f"uuid:{uuid.uuid4()}"))
    began = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(post_head(port, len(body)) + body)
    await writer.drain()
    status = await read_status(reader)
    elapsed = time.perf_counter() - began
    writer.close()
    return elapsed, status


async def slow_upload(port: int, size: int, rate: int, stop: asyncio.Event) -> None:
    """A post of a ``size``-byte photo trickled at ``rate`` bytes/s until ``stop`` (then dropped)."""
    body = multipart(instance_xml(f"uuid:{uuid.uuid4()}"), os.urandom(size))
    _reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = post_head(port, len(body)) + body
    step = max(1, rate // 10)
    sent = 0
    while sent < len(data) and not stop.is_set():
        writer.write(data[sent:sent + step])
        await writer.drain()
        sent += step
        await asyncio.sleep(0.1)
    writer.close()


async def long_read(port: int, path: str, token: str) -> tuple[float, int, int]:
    """GET ``path`` read to its end at full speed: (seconds, status, bytes)."""
    began = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Token {token}\r\n"
                 f"Connection: close\r\n\r\n".encode())
    await writer.drain()
    status = await read_status(reader)
    size = 0
    while chunk := await reader.read(1 << 20):
        size += len(chunk)
    writer.close()
    return time.perf_counter() - began, status, size


def token_for(username: str, code: Path = ROOT) -> str:
    out = subprocess.run([PY, "manage.py", "drf_create_token", username], cwd=code,
                         env=service_env(code, DJANGO_SETTINGS_MODULE="mtm.settings.local"),
                         check=True, capture_output=True, text=True).stdout
    return out.split()[2]
