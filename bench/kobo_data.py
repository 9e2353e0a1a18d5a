"""KoBo API v2 data endpoint: paging through 30,000 anonymised records of the
demo questionnaire (71 fields, repeats; about 2 kB of JSON each) with a
token, served in-process by Django's test client on PostgreSQL, the whole
stack included (authentication, visibility, release, rendering) and the
client's parsing of the JSON. The records are the demo's processed
interviews copied to 30,000 rows.

Target: all 30,000 records in under 2 s, in pages of 1,000 and in one page.

Measured (issue 16, the supervisor's token, warm KoBo record cache, best of 3; "CPU" is Django's process
and its PostgreSQL backend):

- before (the page's ids read first, then its records by ``id IN (…)``; the asset's versions read with
  their 194 kB XForm and 100 kB schema on every page): pages of 1,000 1.35 s (1.01 s of CPU), one page
  0.91 s (0.72 s), load average 4.8–5.2;
- after (a page of up to 1,000 records in one query; the versions without XForm and schema, the schema
  the process's copy): pages of 1,000 0.99 s (0.71 s of CPU), one page 0.79 s (0.65 s), load average
  4.7–4.8. The client's own parsing (orjson) is about 1 s more either way.

Run: make bench  (or .venv/bin/python bench/kobo_data.py); PostgreSQL at
BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/mtm_kobo_bench;
the test database ``test_mtm_kobo_bench`` is created there). BENCH_KEEPDB=1
keeps it between runs; BENCH_PROFILE=<limit> prints a profile of one pass.
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


def page_through(client: Client, url: str, limit: int, token: str) -> tuple[float, float, int, float]:
    """Every page in turn, following ``next`` as koboextractor and Power BI do: the time to get the
    responses (the server's whole work, the bytes in hand), the time the client then takes to parse them,
    and the CPU seconds the server spent (Django's process and the PostgreSQL backend)."""
    seen, serving, parsing, cpu = 0, 0.0, 0.0, 0.0
    params: dict[str, int] = {"limit": limit}
    while True:
        began, began_cpu, began_db = time.perf_counter(), time.process_time(), backend_cpu()
        response = client.get(url, params, HTTP_AUTHORIZATION=f"Token {token}")
        content = b"".join(response.streaming_content) if response.streaming else response.content
        served = time.perf_counter()
        cpu += time.process_time() - began_cpu + backend_cpu() - began_db
        assert response.status_code == 200, content[:300]
        body = orjson.loads(content)  # as a client with a fast parser (pandas, Power BI) reads it
        serving += served - began
        parsing += time.perf_counter() - served
        seen += len(body["results"])
        if not body["next"]:
            break
        url, params = body["next"].removeprefix("http://testserver"), {}
    return serving, parsing, seen, cpu


def main() -> None:
    records_database("postgres://postgres@127.0.0.1:5432/mtm_kobo_bench", RECORDS)

    from rest_framework.authtoken.models import Token

    from enumerators.models import User
    from surveys.kobo_ids import asset_uid

    token = Token.objects.get_or_create(user=User.objects.get(username="supervisor"))[0].key
    url = f"/api/v2/assets/{asset_uid('mtm_kz_r4')}/data/"
    client = Client()
    page_through(client, url, 100, token)  # warm up: schema caches, first queries
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        with cProfile.Profile() as profile:
            page_through(client, url, int(os.environ["BENCH_PROFILE"]), token)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(35)
        return
    for limit in (1000, 30_000):
        runs = [page_through(client, url, limit, token) for _ in range(3)]
        serving, parsing, seen, cpu = min(runs)
        print(f"GET {url} 30,000 records in pages of {limit:,}: best of 3 {serving:.2f} s to get every page"
              f"{'' if serving < 2 else ' (ABOVE the 2 s target)'} ({cpu:.2f} s of CPU: Django + PostgreSQL), "
              f"+{parsing:.2f} s for the client to parse them ({seen:,} records; load average "
              f"{os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
