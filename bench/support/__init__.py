"""What the benchmarks share (a package, so that `make bench`'s `bench/*.py` does not run it)."""

from __future__ import annotations

import os
from collections.abc import Callable


def django_for_bench() -> None:
    """Django on the test settings, tasks in-process, on the embedded default or BENCH_DATABASE_URL."""
    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = "mtm.settings.test"
    os.environ.pop("REDIS_URL", None)
    if os.environ.get("BENCH_DATABASE_URL"):
        os.environ["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
    else:
        os.environ.pop("DATABASE_URL", None)
    django.setup()


def in_test_database(run: Callable[[], None]) -> None:
    """Run ``run`` in a fresh test database of the configured engine, dropped afterwards."""
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    connection.creation.create_test_db(verbosity=0)
    try:
        run()
    finally:
        connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)
