"""The production topology (issue 13, item 3): nginx in front of gunicorn (mtm/nginx.conf through
mtm.proxy), and gunicorn's threads when there is no proxy. Slow uploads held open mid-body must not hold
the server: a tablet's post is answered while all of them are still open, and a held upload, once
finished, is stored too. Ordering, not timing: the slow posts are asserted unanswered and open after the
fresh one got its 201."""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet
from django.conf import settings

from mtm.env import read_env
from mtm.proxy import nginx_conf, nginx_site
from surveys.models import Submission
from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (Debian's nginx-light: "
                                                       "`make nginx` installs it, as make test-services does)")
BOUNDARY = "----mtmproxytest"


def test_the_body_limit_is_what_the_server_advertises_plus_the_multipart_allowance():
    env = read_env({"MTM_MAX_SUBMISSION_BYTES": "5000000"})

    site = nginx_site(listen="0.0.0.0:80", upstream="127.0.0.1:8000", env=env)

    assert "client_max_body_size 6048576;" in site
    assert "The submission is larger than 5000000 bytes." in site
    assert "server 127.0.0.1:8000;" in site and "listen 0.0.0.0:80;" in site
    assert "@" not in site.replace("@too_large", "")  # every name filled in


@needs_nginx
def test_the_whole_configuration_is_valid_nginx(tmp_path):
    (tmp_path / "nginx.conf").write_text(nginx_conf(listen="127.0.0.1:8139", upstream="127.0.0.1:8138"))

    checked = subprocess.run(_nginx(tmp_path, "-t"), capture_output=True, text=True, timeout=30)

    assert checked.returncode == 0, checked.stderr


# -- against the real topology --------------------------------------------------------------------------

def _nginx(prefix: Path, *args: str) -> list[str]:
    """nginx from its own prefix; as root its workers run as root too (the prefix is root's)."""
    user = "user root;" if os.geteuid() == 0 else ""
    return [str(NGINX), "-p", str(prefix), "-c", "nginx.conf", *args, "-g", f"daemon off; {user}"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int, proc: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen within 60 s")


@pytest.fixture
def production_env(tmp_path, celery_worker_process, transactional_db, enumerator):
    """Production settings on the test database; enum01's password hashed as production checks it."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher
    from django.db import connection

    user = enumerator.user
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt(), iterations=1000)
    user.save(update_fields=["password"])

    database = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]
    env = {**os.environ, "DATABASE_URL": database, "DJANGO_SETTINGS_MODULE": "mtm.settings.production",
           "DJANGO_SECRET_KEY": "x" * 50, "MTM_RAW_KEY": Fernet.generate_key().decode(),
           "MTM_PSEUDONYM_KEY": Fernet.generate_key().decode(), "MTM_DATA_DIR": str(tmp_path),
           "MTM_CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE, "MTM_WEB_WORKERS": "1"}
    # A cache of its own: not another test server's, nor an earlier test's remembered forms for the same names.
    env["MTM_CACHE_PREFIX"] = f"mtm-{connection.settings_dict['NAME']}-{uuid.uuid4().hex[:8]}"
    env.pop("MTM_GUNICORN_CONTROL_SOCKET", None)
    return env


@contextmanager
def _topology(env: dict[str, str], tmp_path: Path, *, threads: int, proxy: bool) -> Iterator[int]:
    """gunicorn (mtm/gunicorn.conf.py, one worker of ``threads`` threads), behind nginx when ``proxy``;
    the port clients use."""
    upstream = _free_port()
    served = {**env, "MTM_BIND": f"127.0.0.1:{upstream}", "MTM_WEB_THREADS": str(threads)}
    procs = [subprocess.Popen([sys.executable, "-m", "gunicorn", "mtm.wsgi", "-c", "mtm/gunicorn.conf.py"],
                              cwd=ROOT, env=served, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        _wait(upstream, procs[0], "gunicorn")
        port = upstream
        if proxy:
            port = _free_port()
            prefix = tmp_path / "nginx"
            prefix.mkdir()
            (prefix / "nginx.conf").write_text(nginx_conf(listen=f"127.0.0.1:{port}",
                                                          upstream=f"127.0.0.1:{upstream}"))
            procs.append(subprocess.Popen(_nginx(prefix), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            _wait(port, procs[1], "nginx")
        yield port
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _instance(instance_id: str) -> bytes:
    return (f'<data id="household" version="2024050101"><resp><sex>male</sex><age>33</age></resp>'
            f"<meta><instanceID>{instance_id}</instanceID></meta></data>").encode()


def _request(port: int, instance_id: str, photo: bytes = b"") -> tuple[bytes, bytes]:
    """A multipart post: (its headers, its body)."""
    body = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="xml_submission_file"; '
            f'filename="submission.xml"\r\nContent-Type: text/xml\r\n\r\n').encode() + _instance(instance_id)
    if photo:
        body += (f'\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="photo.jpg"; filename="photo.jpg"\r\n'
                 f"Content-Type: image/jpeg\r\n\r\n").encode() + photo
    body += f"\r\n--{BOUNDARY}--\r\n".encode()
    auth = base64.b64encode(f"enum01:{PASSWORD}".encode()).decode()
    head = (f"POST /submission HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Basic {auth}\r\n"
            f"X-OpenRosa-Version: 1.0\r\nConnection: close\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    return head, body


def _held_open(sock: socket.socket) -> bool:
    """The server has neither answered nor closed the connection."""
    sock.setblocking(False)
    try:
        return sock.recv(1) != b""  # data (an answer) or b"" (closed): not held
    except BlockingIOError:
        return True
    finally:
        sock.setblocking(True)


def _status(sock: socket.socket) -> int:
    sock.settimeout(60)
    answer = b""
    while b"\r\n" not in answer:
        data = sock.recv(4096)
        if not data:
            break
        answer += data
    return int(answer.split()[1])


def _slow_posts_then_a_tablet(port: int, slow: int) -> None:
    held, rests, ids = [], [], []
    for n in range(slow):
        ids.append(f"uuid:{uuid.uuid4()}")
        head, body = _request(port, ids[-1], photo=os.urandom(200_000))
        sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        sock.sendall(head + body[:1000 + n])  # mid-body, and kept so
        held.append(sock)
        rests.append(body[1000 + n:])
    time.sleep(0.5)  # every slow post has reached the server (or the proxy) before the tablet's
    fresh = f"uuid:{uuid.uuid4()}"
    head, body = _request(port, fresh)

    answer = requests.post(f"http://127.0.0.1:{port}/submission", data=body, timeout=60,
                           headers=dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:] if line))

    still_open = [_held_open(sock) for sock in held]
    assert answer.status_code == 201, answer.text
    assert still_open == [True] * slow  # answered while every slow upload was still mid-body
    assert Submission.objects.filter(instance_id=fresh).count() == 1
    assert Submission.objects.filter(instance_id__in=ids).count() == 0

    for sock, rest in zip(held, rests, strict=True):  # the slow uploads finish: each stored, none lost
        sock.sendall(rest)
    statuses = [_status(sock) for sock in held]
    for sock in held:
        sock.close()
    assert statuses == [201] * slow
    assert Submission.objects.filter(instance_id__in=ids).count() == slow


@pytest.mark.services
@needs_nginx
def test_behind_nginx_eight_slow_uploads_do_not_hold_a_one_thread_server(production_env, tmp_path):
    """One gunicorn worker with one thread: without nginx, one held upload would stop every post."""
    with _topology(production_env, tmp_path, threads=1, proxy=True) as port:
        _slow_posts_then_a_tablet(port, slow=8)
        too_large = _oversized_post(port)

    assert too_large[0] == "HTTP/1.1 413 Request Entity Too Large"
    assert "X-OpenRosa-Version: 1.0" in too_large
    assert too_large[-1].endswith('<message nature="error">The submission is larger than 10485760 bytes.</message>'
                                  "</OpenRosaResponse>")
    assert Submission.objects.count() == 9  # the tablet's and the eight slow ones: nothing of the refused post


def _oversized_post(port: int) -> list[str]:
    """A post announcing one byte more than the server takes (nginx answers from the headers): the lines
    of its answer."""
    head, _ = _request(port, f"uuid:{uuid.uuid4()}")
    head = head.replace(head.split(b"Content-Length: ")[1].split(b"\r\n")[0],
                        str(read_env().max_request_bytes + 1).encode())
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        # The headers alone: nginx answers from them and closes; body bytes it never reads would make the
        # close a reset that can discard its answer before this side reads it.
        sock.sendall(head)
        answer = b""
        try:
            while data := sock.recv(65536):
                answer += data
        except ConnectionResetError:
            if not answer:
                raise
    return answer.decode().split("\r\n")


@pytest.mark.services
def test_without_a_proxy_a_slow_upload_holds_a_thread_not_the_worker(production_env, tmp_path):
    """gunicorn alone (gthread, the conf's threads): a slow body holds one thread; the others answer."""
    with _topology(production_env, tmp_path, threads=8, proxy=False) as port:
        _slow_posts_then_a_tablet(port, slow=6)
