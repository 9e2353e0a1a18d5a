"""The embedded default's REST deliveries (no broker, tasks in-process): one daemon thread of the process
runs them in due order, so that the request that processed an interview never waits for a receiver; a
retry waits on the thread's schedule, not in a request. (With Redis they go to the hooks' Celery queue.)"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from functools import lru_cache

log = logging.getLogger(__name__)


class BackgroundDeliveries:
    def __init__(self) -> None:
        self._due: list[tuple[float, int, int]] = []
        self._locked: dict[int, int] = {}
        self._order = itertools.count()
        self._ready = threading.Condition()
        self._busy = 0
        self._thread = threading.Thread(target=self._run, name="mtm-rest-deliveries", daemon=True)
        self._thread.start()

    def submit(self, delivery_id: int, countdown: float = 0) -> None:
        with self._ready:
            heapq.heappush(self._due, (time.monotonic() + countdown, next(self._order), delivery_id))
            self._ready.notify()

    def wait_idle(self, timeout: float = 30) -> bool:
        """Until nothing is due now or running (tests); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._ready:
            while self._busy or (self._due and self._due[0][0] <= time.monotonic()):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._ready.wait(min(left, 0.05))
        return True

    def _run(self) -> None:
        from django.db import OperationalError, close_old_connections, connection

        from surveys.tasks import hook_deliver_task

        while True:
            with self._ready:
                while not self._due or self._due[0][0] > time.monotonic():
                    self._ready.wait(None if not self._due else self._due[0][0] - time.monotonic())
                _, _, delivery_id = heapq.heappop(self._due)
                self._busy += 1
            try:
                close_old_connections()
                hook_deliver_task.run(delivery_id)
            except OperationalError:  # SQLite busy with the request that processed it: again in a moment
                tries = self._locked[delivery_id] = self._locked.get(delivery_id, 0) + 1
                if tries <= 10:
                    self.submit(delivery_id, countdown=0.2 * tries)
                else:
                    log.exception("REST delivery %s: the database stayed locked", delivery_id)
            except Exception:
                log.exception("REST delivery %s failed in the background", delivery_id)
            finally:
                connection.close()
                with self._ready:
                    self._busy -= 1
                    self._ready.notify_all()


@lru_cache(maxsize=1)
def background_deliveries() -> BackgroundDeliveries:
    return BackgroundDeliveries()
