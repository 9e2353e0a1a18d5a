"""KoBo API v2 data endpoint: paging through 30,000 anonymised records of the
demo questionnaire (71 fields, repeats; about 2 kB of JSON each) with a
token, served in-process by Django's test client on PostgreSQL, the whole
stack included (authentication, visibility, release, rendering) and the
client's parsing of the JSON. The records are the demo's processed
interviews copied to 30,000 rows.

Target: all 30,000 records in under 2 s, in pages of 1,000 and in one page.

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

from bench.support.records import records_database  # noqa: E402

RECORDS = 30_000


def page_through(client: Client, url: str, limit: int, token: str) -> tuple[float, float, int]:
    """Every page in turn: the time to get the responses (the server's whole
    work, the bytes in hand), and the time the client then takes to parse them."""
    start, seen, serving, parsing = 0, 0, 0.0, 0.0
    while True:
        began = time.perf_counter()
        response = client.get(url, {"start": start, "limit": limit}, HTTP_AUTHORIZATION=f"Token {token}")
        served = time.perf_counter()
        assert response.status_code == 200, response.content[:300]
        body = orjson.loads(response.content)  # as a client with a fast parser (pandas, Power BI) reads it
        serving += served - began
        parsing += time.perf_counter() - served
        seen += len(body["results"])
        if not body["next"]:
            break
        start += limit
    return serving, parsing, seen


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
        serving, parsing, seen = min(runs)
        print(f"GET {url} 30,000 records in pages of {limit:,}: best of 3 {serving:.2f} s to get every page"
              f"{'' if serving < 2 else ' (ABOVE the 2 s target)'}, +{parsing:.2f} s for the client to parse "
              f"them ({seen:,} records)")


if __name__ == "__main__":
    main()
