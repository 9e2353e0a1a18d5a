"""Production as `make serve` runs it: gunicorn with mtm/gunicorn.conf.py and the production settings serves
the admin's static files itself (WhiteNoise, hashed names, long cache), and each instance has its own
gunicorn control socket or none."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.services


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def production_env(tmp_path, django_db_setup):
    from django.db import connection

    database = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]
    env = {**os.environ, "DATABASE_URL": database, "DJANGO_SETTINGS_MODULE": "mtm.settings.production",
           "DJANGO_SECRET_KEY": "x" * 50, "MTM_RAW_KEY": Fernet.generate_key().decode(),
           "MTM_PSEUDONYM_KEY": Fernet.generate_key().decode(), "MTM_DATA_DIR": str(tmp_path),
           "MTM_WEB_WORKERS": "1", "MTM_CACHE_PREFIX": f"mtm-{uuid.uuid4().hex[:12]}"}
    env.pop("MTM_GUNICORN_CONTROL_SOCKET", None)
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env,
                   check=True, timeout=120)
    return env


def _serve(env: dict[str, str], port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "mtm.wsgi", "-c", "mtm/gunicorn.conf.py"],
                            cwd=ROOT, env={**env, "MTM_BIND": f"127.0.0.1:{port}"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/admin/login/", timeout=10)
            return proc
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("gunicorn did not answer within 30 s")


def test_production_serves_the_admins_static_files(production_env):
    port = _free_port()
    proc = _serve(production_env, port)
    try:
        page = requests.get(f"http://127.0.0.1:{port}/admin/login/", timeout=5)
        stylesheet = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page.text).group(1)
        css = requests.get(f"http://127.0.0.1:{port}{stylesheet}", headers={"Accept-Encoding": "gzip"}, timeout=5)
    finally:
        proc.terminate()
        proc.wait(timeout=20)

    assert (page.status_code, css.status_code) == (200, 200)
    assert css.headers["Content-Type"].startswith("text/css")
    assert "max-age=315360000" in css.headers["Cache-Control"]
    assert css.headers.get("Content-Encoding") == "gzip"


def test_each_instance_has_its_own_control_socket_or_none(production_env, tmp_path):
    own = tmp_path / "a.ctl"
    first = _serve({**production_env, "MTM_GUNICORN_CONTROL_SOCKET": str(own)}, _free_port())
    second = _serve(production_env, _free_port())  # no socket: nothing shared with the first
    try:
        assert own.is_socket()
        assert first.poll() is None and second.poll() is None
    finally:
        for proc in (first, second):
            proc.terminate()
            proc.wait(timeout=20)
