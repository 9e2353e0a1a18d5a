"""A gunicorn worker's memory on large reads (issue 13, item 4): peak RSS of each worker while 8 clients
read all 30,000 records of round 4 as data.xml (about 60 MB each) at once.

The real server (bench/support/topology.py: gunicorn with mtm/gunicorn.conf.py and production settings
on PostgreSQL ``mtm_13e_bench``, no proxy so that the reads run at full speed). The released records
are cached first (KoboRecord) and the workers started afresh; each worker's resident memory is read
before the reads (VmRSS) and its peak after them (VmHWM, /proc/<pid>/status).

Measured on this 2-core machine, 2026-11-29 (shared, load average about 26: the reads were slow), each
worker's VmHWM read from /proc while the 8 reads ran (86 MB of XML each):
  main's code (the page built whole, then rendered whole), 4 workers x 1 thread: 105-123 MB idle, peak
    1,137 MB in each of the two workers that took the reads (the other two queued none: gthread accepts
    and queues behind a busy thread)
  this tree (streamed, a chunk of 1,000 records at a time), 4 workers x 8 threads: 105 MB idle, peaks
    131, 149, 168 MB in the workers serving the 8 reads

Run: .venv/bin/python bench/memory.py [--code DIR] [--format xml|json|geojson] [--keep] [--threads N]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support.topology import ROOT, long_read, prepared, running, token_for, topology_arguments


def memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--format", default="xml", choices=["xml", "json", "geojson"])
    parser.add_argument("--reads", type=int, default=8)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--cached", action="store_true", help="the released records are already cached")
    topology_arguments(parser)
    args = parser.parse_args()
    if not prepared(keep=args.keep):
        return
    from surveys.kobo_ids import asset_uid

    token = token_for("admin")
    path = f"/api/v2/assets/{asset_uid('mtm_kz_r4')}/data/?format={args.format}"
    if not args.cached:
        with running(args.code, proxy=False, threads=args.threads, port=args.port) as topology:  # cache them
            asyncio.run(long_read(topology.port, path.replace("?format=", "?limit=30000&format="), token))
    with running(args.code, proxy=False, threads=args.threads, port=args.port) as topology:
        async def small_reads() -> None:  # every worker imported, connected and warm
            await asyncio.gather(*(long_read(topology.port, f"{path}&limit=10", token) for _ in range(16)))

        asyncio.run(small_reads())
        pids = topology.worker_pids()
        before = {pid: memory_kb(pid, "VmRSS") for pid in pids}

        async def reads() -> list[tuple[float, int, int]]:
            return await asyncio.gather(*(long_read(topology.port, path, token) for _ in range(args.reads)))

        results = asyncio.run(reads())
        peaks = {pid: memory_kb(pid, "VmHWM") for pid in pids}
    name = "this tree" if args.code == ROOT else args.code.name
    print(f"{name}: {args.reads} concurrent data.{args.format} reads of 30,000 records "
          f"({', '.join(f'{size / 1e6:.0f} MB in {s:.1f} s' for s, _, size in results[:1])} each; statuses "
          f"{sorted({status for _, status, _ in results})})")
    for pid in pids:
        print(f"  worker {pid}: {before[pid] / 1024:.0f} MB before, peak {peaks[pid] / 1024:.0f} MB")
    print(f"  largest worker peak {max(peaks.values()) / 1024:.0f} MB; all workers' peaks together "
          f"{sum(peaks.values()) / 1024:.0f} MB")


if __name__ == "__main__":
    main()
