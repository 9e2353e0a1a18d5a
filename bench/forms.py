"""Form delivery: XLSForm conversion of the demo questionnaire, and the
OpenRosa form list / form download with Basic and Digest credentials, served
in-process by Django's test client on the embedded default.

Run: make bench  (or .venv/bin/python bench/forms.py)
"""

from __future__ import annotations

import base64
import hashlib
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mtm.settings.test")
os.environ.pop("DATABASE_URL", None)
os.environ.pop("REDIS_URL", None)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from surveys.services.xlsform import xlsform_convert  # noqa: E402


def timed(fn, n):
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def digest_authorization(nonce: str, uri: str, nc: int) -> str:
    md5 = lambda s: hashlib.md5(s.encode()).hexdigest()  # noqa: E731
    ha1 = md5(f"enum01:{settings.OPENROSA_REALM}:enum-pass")
    resp = md5(f"{ha1}:{nonce}:{nc:08x}:c0ffee:auth:{md5(f'GET:{uri}')}")
    return (f'Digest username="enum01", realm="{settings.OPENROSA_REALM}", nonce="{nonce}", uri="{uri}", '
            f'response="{resp}", qop=auth, nc={nc:08x}, cnonce="c0ffee"')


def main() -> None:
    setup_test_environment()
    from django.db import connection

    connection.creation.create_test_db(verbosity=0)
    # Production password hashing (PBKDF2), not the test settings' MD5.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    call_command("load_demo", stdout=open(os.devnull, "w"))
    source = (ROOT / "surveys/demo/forms/mtm_kz_r4.md").read_bytes()

    p50, p99 = timed(lambda: xlsform_convert(source=source, filename="mtm_kz_r4.md"), 20)
    print(f"xlsform_convert demo form (71 fields): p50 {p50:.1f} ms  p99 {p99:.1f} ms")

    client = Client()
    basic = "Basic " + base64.b64encode(b"enum01:enum-pass").decode()
    p50, p99 = timed(lambda: client.get("/formList", HTTP_AUTHORIZATION=basic), 20)
    print(f"GET /formList, Basic (password checked once, then remembered): p50 {p50:.1f} ms  p99 {p99:.1f} ms")

    nonce = client.get("/formList")["WWW-Authenticate"].split('nonce="')[1].split('"')[0]
    counter = iter(range(1, 10_000))

    def digest_call():
        header = digest_authorization(nonce, "/formList", next(counter))
        assert client.get("/formList", HTTP_AUTHORIZATION=header).status_code == 200

    p50, p99 = timed(digest_call, 200)
    print(f"GET /formList, Digest: p50 {p50:.2f} ms  p99 {p99:.2f} ms")

    p50, p99 = timed(lambda: client.get("/forms/mtm_kz_r4/form.xml", HTTP_AUTHORIZATION=basic), 20)
    print(f"GET /forms/mtm_kz_r4/form.xml, Basic: p50 {p50:.1f} ms  p99 {p99:.1f} ms")


if __name__ == "__main__":
    main()
