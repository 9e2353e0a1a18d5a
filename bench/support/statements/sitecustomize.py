"""Counts the SQL statements a process sends (bench/ingest.py puts this directory on PYTHONPATH of the
server and worker it starts, never in production). Each process writes its count to
``$MTM_BENCH_STATEMENTS_DIR/<pid>`` every half second; the benchmark sums the files."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

_DIR = os.environ.get("MTM_BENCH_STATEMENTS_DIR")
_count = [0]


def _counter(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
    _count[0] += len(params) if many and isinstance(params, (list, tuple)) else 1
    return execute(sql, params, many, context)


def _on_connection(sender, connection, **kwargs):  # type: ignore[no-untyped-def]
    if _counter not in connection.execute_wrappers:
        connection.execute_wrappers.append(_counter)
    _start_writer()


_writer: list[int] = []


def _start_writer() -> None:
    if _writer and _writer[0] == os.getpid():
        return
    _writer[:] = [os.getpid()]
    path = Path(_DIR or ".") / str(os.getpid())

    def write() -> None:
        last = -1
        while True:
            if _count[0] != last:
                last = _count[0]
                path.write_text(str(last))
            time.sleep(0.5)

    threading.Thread(target=write, daemon=True, name="bench-statements").start()


if _DIR:
    from django.db.backends.signals import connection_created

    connection_created.connect(_on_connection, dispatch_uid="bench-statements")
