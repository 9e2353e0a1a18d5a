"""A production-like MTM Collect for the fault suite (issue 13): every part a real process the tests
stop, kill and start again, none of them shared with anything else on the machine.

- its own PostgreSQL cluster (``initdb`` in a temporary folder, its own port), so that restarting it
  touches no other run's database;
- its own Redis (``redis-server`` on its own port), so that stopping it stops no other run's broker;
- gunicorn with ``mtm/gunicorn.conf.py`` and the production settings (2 workers);
- a Celery worker with beat, whose sweep runs every 2 s and sends again what waited 3 s, kept running
  as systemd's ``Restart=always`` keeps it in production (a worker exits when its broker connection
  breaks in some ways, and is started again a second later);
- the data folder (attachments, the sealed raw store) on a small tmpfs when the machine lets us mount
  one (root), so that a test can fill the disk.

``Tablet`` posts as ODK Collect does and sends again what was not acknowledged (a dropped connection,
a 503), recording every answer for the suite's counts."""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests
from cryptography.fernet import Fernet

from tests.factories import PASSWORD
from tests.submissions import PHOTO_FORM_ROWS

ROOT = Path(__file__).resolve().parent.parent
AS_ROOT = os.geteuid() == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_binary(name: str) -> str | None:
    """The server's own programs (``initdb``, ``pg_ctl``): on PATH, or where Debian keeps them."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    return candidates[-1] if candidates else None


def missing_parts() -> str | None:
    """Why the stack cannot start here, or ``None``."""
    for name in ("initdb", "pg_ctl"):
        if postgres_binary(name) is None:
            return f"PostgreSQL's {name} is not installed"
    if shutil.which("redis-server") is None:
        return "redis-server is not installed"
    if AS_ROOT and shutil.which("runuser") is None:
        return "runuser is needed to run PostgreSQL's own cluster as the postgres user"
    return None


def _as_postgres(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root: its cluster belongs to the postgres account.
    return ["runuser", "-u", "postgres", "--", *command] if AS_ROOT else command


def _children(pid: int) -> list[int]:
    found = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        with suppress(OSError, ValueError, IndexError):
            text = Path(stat).read_text()
            if int(text[text.rindex(")") + 2:].split()[1]) == pid:
                found.append(int(stat.split("/")[2]))
    return found


@dataclass
class Stack:
    folder: Path
    pg_port: int = field(default_factory=free_port)
    redis_port: int = field(default_factory=free_port)
    web_port: int = field(default_factory=free_port)
    disk_mounted: bool = False
    web: subprocess.Popen | None = None
    worker: subprocess.Popen | None = None
    redis: subprocess.Popen | None = None
    worker_starts: int = 0
    stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def pg_data(self) -> Path:
        return self.folder / "pg"

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def database_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.pg_port}/mtm"

    @property
    def env(self) -> dict[str, str]:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "mtm.settings.production", "DATABASE_URL": self.database_url,
               "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0", "MTM_DATA_DIR": str(self.data_dir),
               "MTM_CELERY_QUEUE": "mtm-faults", "MTM_WEB_WORKERS": "2", "MTM_BIND": f"127.0.0.1:{self.web_port}",
               "MTM_SWEEP_SECONDS": "2", "MTM_SWEEP_GRACE_SECONDS": "3", **self.keys}
        env.pop("MTM_GUNICORN_CONTROL_SOCKET", None)  # none: nothing shared with another instance
        return env

    keys: dict[str, str] = field(default_factory=lambda: {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50), "MTM_RAW_KEY": Fernet.generate_key().decode(),
        "MTM_PSEUDONYM_KEY": Fernet.generate_key().decode()})

    # -- PostgreSQL ---------------------------------------------------------------------------------

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(_as_postgres([postgres_binary("pg_ctl") or "pg_ctl", "-D", str(self.pg_data), *args]),
                       check=True, timeout=120, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def postgres_init(self) -> None:
        self.pg_data.mkdir()
        if AS_ROOT:
            shutil.chown(self.folder, "postgres")
            shutil.chown(self.pg_data, "postgres")
        subprocess.run(_as_postgres([postgres_binary("initdb") or "initdb", "-D", str(self.pg_data), "-U", "postgres",
                                     "--auth=trust", "-E", "UTF8", "--no-sync"]),
                       check=True, timeout=180, stdout=subprocess.DEVNULL)
        options = (f"-p {self.pg_port} -k {self.pg_data} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off")
        self._pg_ctl("-o", options, "-l", str(self.pg_data / "server.log"), "-w", "start")
        with psycopg.connect(self.database_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE mtm")

    def postgres_restart(self) -> None:
        """A fast restart (``pg_ctl restart -m fast``): every connection is cut, the server is away for a
        moment and comes back with the same data."""
        self._pg_ctl("-m", "fast", "-w", "restart")

    def postgres_stop(self) -> None:
        with suppress(subprocess.SubprocessError):
            self._pg_ctl("-m", "immediate", "-w", "stop")

    def sql(self, query: str, *params: object) -> list[tuple]:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            cursor = conn.execute(query, params)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    # -- Redis --------------------------------------------------------------------------------------

    def redis_start(self) -> None:
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        _wait(lambda: _connects(self.redis_port), "redis-server")

    def redis_stop(self) -> None:
        if self.redis is not None:
            self.redis.kill()
            self.redis.wait(timeout=20)
            self.redis = None

    # -- the application ----------------------------------------------------------------------------

    def manage(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True,
                              text=True, timeout=300)
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def set_up(self) -> None:
        """The database migrated, the simple form with two photo questions in round 4, enum01 assigned."""
        self.manage("migrate", "--noinput", "-v0")
        form = self.folder / "simple.md"
        form.write_text(f"""
| survey |
| | type | name | label |
| | text | q1 | Question one |
{PHOTO_FORM_ROWS}
| settings |
| | form_id | version | form_title |
| | simple | 1 | Simple form |
""")
        self.manage("import_xlsform", str(form), "--survey", "mtm-kz", "--round", "4")
        self.manage("create_enumerator", "enum01", "--password", PASSWORD, "--form", "simple", "--sex", "f")

    def web_start(self) -> None:
        self.web = subprocess.Popen([sys.executable, "-m", "gunicorn", "mtm.wsgi", "-c", "mtm/gunicorn.conf.py"],
                                    cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL,
                                    stderr=open(self.folder / "gunicorn.log", "a"), start_new_session=True)
        _wait(lambda: _answers(f"{self.url}/healthz"), "gunicorn")

    def web_workers(self) -> list[int]:
        return _children(self.web.pid) if self.web else []

    def worker_supervise(self) -> None:
        """Start the worker, and start it again a second after it exits (systemd's ``Restart=always``,
        ``RestartSec=1``)."""
        def supervise() -> None:
            while not self.stopping.is_set():
                if self.worker is None or self.worker.poll() is not None:
                    if self.worker is not None:
                        self.stopping.wait(1)
                    if not self.stopping.is_set():
                        self._worker_start()
                self.stopping.wait(0.2)
        threading.Thread(target=supervise, daemon=True).start()

    def _worker_start(self) -> None:
        self.worker_starts += 1
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "mtm", "worker", "--beat", "-Q", "mtm-faults", "-n",
             f"faults-{self.web_port}@%h", "--concurrency", "2", "--schedule", str(self.folder / "beat-schedule"),
             "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
            cwd=ROOT, env=self.env, stdout=open(self.folder / "worker.log", "a"), stderr=subprocess.STDOUT,
            start_new_session=True)

    def worker_kill(self) -> None:
        """SIGKILL to the worker and its pool processes: whatever task was running dies with them (and
        the supervisor starts another)."""
        if self.worker is not None:
            with suppress(ProcessLookupError):
                os.killpg(self.worker.pid, signal.SIGKILL)
            self.worker.wait(timeout=20)

    def stop(self) -> None:
        self.stopping.set()
        for proc in (self.web, self.worker, self.redis):
            if proc is not None:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    with suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
        self.postgres_stop()
        if self.disk_mounted:
            subprocess.run(["umount", "-l", str(self.data_dir)], check=False)

    # -- what is stored -----------------------------------------------------------------------------

    def rows(self, instance_ids: list[str]) -> dict[str, int]:
        """How many submissions carry each instance id."""
        counts = dict(self.sql("SELECT instance_id, count(*) FROM surveys_submission "
                               "WHERE instance_id = ANY(%s) GROUP BY instance_id", instance_ids))
        return {instance_id: counts.get(instance_id, 0) for instance_id in instance_ids}

    def states(self, instance_ids: list[str]) -> dict[str, str]:
        return dict(self.sql("SELECT instance_id, processing FROM surveys_submission WHERE instance_id = ANY(%s)",
                             instance_ids))

    def wait_settled(self, instance_ids: list[str], timeout: float = 120) -> dict[str, str]:
        """Each submission's processing state once none is receiving or pending (or the time is up)."""
        deadline = time.monotonic() + timeout
        while True:
            states = self.states(instance_ids)
            if all(s in ("processed", "failed") for s in states.values()) or time.monotonic() > deadline:
                return states
            time.sleep(0.5)


@contextmanager
def running_stack() -> Iterator[Stack]:
    folder = Path(tempfile.mkdtemp(prefix="mtm-faults-", dir="/tmp"))
    folder.chmod(0o755)
    stack = Stack(folder=folder)
    try:
        stack.data_dir.mkdir()
        if AS_ROOT:
            mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(stack.data_dir)],
                                     capture_output=True, check=False)
            stack.disk_mounted = mounted.returncode == 0
        stack.postgres_init()
        stack.redis_start()
        stack.set_up()
        stack.worker_supervise()
        stack.web_start()
        yield stack
    finally:
        stack.stop()
        if os.environ.get("MTM_FAULTS_KEEP"):  # its logs, for a look after a failure
            print(f"the fault suite's folder is kept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def _connects(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _answers(url: str) -> bool:
    try:
        requests.get(url, timeout=5)
    except requests.RequestException:
        return False
    return True


def _wait(ready, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start within {timeout:.0f} s")
        time.sleep(0.2)


# -- the tablets --------------------------------------------------------------------------------------

@dataclass
class Sent:
    instance_id: str
    statuses: list[int | str] = field(default_factory=list)  # each attempt: the status, or the network error

    @property
    def acknowledged(self) -> bool:
        """Collect counts an interview as sent on a 201 or a 202 (already received)."""
        return any(s in (201, 202) for s in self.statuses)


@dataclass
class Tablet:
    """Posts as ODK Collect does (Basic auth over the form's multipart) and sends again what the server
    did not acknowledge: a dropped connection or a 503 (after ``Retry-After``, shortened here)."""

    url: str
    username: str = "enum01"
    attempts: int = 40
    pause: float = 0.5
    log: list[Sent] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def post(self, xml: bytes, instance_id: str, files: tuple[tuple[str, bytes], ...] = (),
             resend: bool = True) -> Sent:
        sent = Sent(instance_id)
        with self.lock:
            self.log.append(sent)
        parts = [("xml_submission_file", ("submission.xml", xml, "text/xml"))]
        parts += [(name, (name, content, "image/jpeg")) for name, content in files]
        for _ in range(self.attempts):
            try:
                response = requests.post(f"{self.url}/submission", files=parts, auth=(self.username, PASSWORD),
                                         headers={"X-OpenRosa-Version": "1.0"}, timeout=60)
                sent.statuses.append(response.status_code)
                if response.status_code != 503 or not resend:
                    return sent
            except requests.RequestException as err:
                sent.statuses.append(type(err).__name__)
                if not resend:
                    return sent
            time.sleep(self.pause)
        return sent

    def statuses(self) -> list[int | str]:
        return [status for sent in self.log for status in sent.statuses]

    def server_errors(self) -> list[int]:
        """Every 5xx but 503 (the one a client is told to send again after)."""
        return [s for s in self.statuses() if isinstance(s, int) and s >= 500 and s != 503]
