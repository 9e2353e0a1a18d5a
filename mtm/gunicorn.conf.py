"""gunicorn for production and `make serve`: `gunicorn mtm.wsgi -c mtm/gunicorn.conf.py`.

One thread per worker process: measured in bench/ingest.py on 2 cores, 4
processes × 1 thread ingest about 320 submissions/s where 4 × 4 threads
managed 230 (the threads fight over the GIL). gthread keeps connections
alive between a tablet's requests (HEAD, then POST)."""

import multiprocessing
import os

bind = os.environ.get("MTM_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("MTM_WEB_WORKERS", multiprocessing.cpu_count() * 2))
threads = 1
keepalive = 30
timeout = 120  # a slow upload of a large photo over a bad connection
max_requests = 5000
max_requests_jitter = 500
accesslog = "-"
# gunicorn's control socket (gunicornc) defaults to one path per user, shared by every instance on the
# machine: each instance names its own with MTM_GUNICORN_CONTROL_SOCKET, or runs without one.
control_socket = os.environ.get("MTM_GUNICORN_CONTROL_SOCKET", "") or "var/gunicorn.ctl"
control_socket_disable = not os.environ.get("MTM_GUNICORN_CONTROL_SOCKET")
