"""ODK Central's OData feed: paging through the Submissions table of 30,000 anonymised records of the
demo questionnaire (71 fields, repeats), with a bearer session, served in-process by Django's test
client on PostgreSQL, the whole stack included (authentication, team scope, release, the rows written
as a stream) and the client's parsing of the JSON. The records are the demo's processed interviews
copied to 30,000 rows.

Target: all 30,000 records in under 3 s, in pages of 1,000 (following @odata.nextLink, $skiptoken) and
in one page; and the repeat table (Submissions.<repeat>) in one page.

Run: make bench  (or .venv/bin/python bench/odata.py); PostgreSQL at BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/mtm_odata_bench; the test database ``test_mtm_odata_bench`` is created
there). BENCH_KEEPDB=1 keeps it between runs; BENCH_PROFILE=<top> prints a profile of one pass.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import orjson  # noqa: E402
from django.test import Client  # noqa: E402

from bench.support.records import backend_cpu, records_database  # noqa: E402

RECORDS = 30_000


def page_through(client: Client, url: str, top: int | None, token: str) -> tuple[float, float, int, float]:
    """Every page in turn (``$top``, then each ``@odata.nextLink``): the time to get the responses (the
    server's whole work, the bytes in hand), the time the client then takes to parse them, and the CPU
    seconds the server spent (Django's process and the PostgreSQL backend: a figure the machine's load
    does not inflate as it does the wall time)."""
    seen, serving, parsing, cpu = 0, 0.0, 0.0, 0.0
    params = {"$top": str(top)} if top else {}
    while True:
        began, began_cpu, began_db = time.perf_counter(), time.process_time(), backend_cpu()
        response = client.get(url, params, HTTP_AUTHORIZATION=f"Bearer {token}")
        content = b"".join(response.streaming_content)
        served = time.perf_counter()
        cpu += time.process_time() - began_cpu + backend_cpu() - began_db
        assert response.status_code == 200, content[:300]
        body = orjson.loads(content)
        serving += served - began
        parsing += time.perf_counter() - served
        seen += len(body["value"])
        if "@odata.nextLink" not in body:
            break
        url, params = body["@odata.nextLink"].removeprefix("http://testserver"), {}
    return serving, parsing, seen, cpu


def main() -> None:
    records_database("postgres://postgres@127.0.0.1:5432/mtm_odata_bench", RECORDS)

    from enumerators.models import User
    from surveys.models import Questionnaire
    from surveys.selectors.central.odata import odata_model
    from surveys.selectors.kobo.assets import asset_for_user

    client = Client()
    token = client.post("/v1/sessions", {"email": "admin", "password": "admin"},
                        content_type="application/json").json()["token"]
    form = Questionnaire.objects.filter(form_id="mtm_kz_r4").first()
    assert form is not None
    base = f"/v1/projects/{form.round.survey_id}/forms/mtm_kz_r4.svc"
    asset = asset_for_user(user=User.objects.get(username="admin"), uid=form.kobo_uid)
    repeats = [name for name in odata_model(asset).tables if name != "Submissions"]
    page_through(client, f"{base}/Submissions", 100, token)  # warm up: schema caches, first queries
    if os.environ.get("BENCH_PROFILE") is not None:
        import cProfile
        import pstats

        with cProfile.Profile() as profile:
            page_through(client, f"{base}/Submissions", int(os.environ["BENCH_PROFILE"]) or None, token)
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(35)
        return
    for table, top in [("Submissions", 1000), ("Submissions", None), *[(name, None) for name in repeats[:1]]]:
        runs = [page_through(client, f"{base}/{table}", top, token) for _ in range(3)]
        serving, parsing, seen, cpu = min(runs)
        pages = f"pages of {top:,}" if top else "one page"
        target = "" if table != "Submissions" or serving < 3 else " (ABOVE the 3 s target)"
        print(f"GET {base}/{table} in {pages}: best of 3 {serving:.2f} s to get every page{target} "
              f"({cpu:.2f} s of CPU: Django + PostgreSQL), +{parsing:.2f} s for the client to parse them "
              f"({seen:,} rows; load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
