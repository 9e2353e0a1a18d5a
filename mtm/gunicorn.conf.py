"""gunicorn for production and `make serve`: `gunicorn mtm.wsgi -c mtm/gunicorn.conf.py`, behind nginx
(mtm/nginx.conf, `make proxy`; docs/adr/0014-nginx-in-front-of-gunicorn.md).

2 processes per core, 8 threads each (MTM_WEB_WORKERS, MTM_WEB_THREADS). A request holds a thread, not
the process: behind nginx only while the application works (nginx has read the body and takes the
response as fast as it is written), without a proxy also while a slow tablet sends its body. So four
long reads (a page of 30,000 records, an export written on request) or slow uploads leave threads to
answer a tablet's post (bench/slow_clients.py). The price is the GIL under a flood of posts: 50
clients posting as fast as they can got about 320 submissions/s from 4 x 1 thread and 230 from 4 x 4
(bench/ingest.py), far above a field team's rate. gthread waits 5 s for a new connection's first
bytes in a thread, then moves it to its poller.

A process holds one connection per thread (MTM_WEB_CONNECTIONS, the threads by default): it accepts a
connection only while a thread is free, and closes each connection after its response, so a burst of
tablets waits in the listening socket's queue, in the order it came, and each request goes to a process
with a thread free. gunicorn's own default (1,000 connections, kept alive) let the first process to wake
take most connections of a burst and queue them for its 8 threads while the others idled: at 50 clients
posting as fast as they can, 35 clients waited 3-4 times as long as the other 15 and the p99 was about
1 s; one connection per thread: 396-412 ms, every client within 226-295 ms (2 per thread, keeping 8 alive
per process: 419-559 ms; docs/adr/0018, third pass). Behind nginx nothing changes for a tablet: nginx
keeps its connection alive and sends gunicorn one request per connection anyway. Without a proxy a
tablet's HEAD and POST take a connection each. With MTM_WEB_CONNECTIONS above the threads a process keeps
that many less the threads alive (30 s)."""

import multiprocessing
import os

bind = os.environ.get("MTM_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("MTM_WEB_WORKERS", multiprocessing.cpu_count() * 2))
threads = int(os.environ.get("MTM_WEB_THREADS", 8))
worker_connections = int(os.environ.get("MTM_WEB_CONNECTIONS", threads))
# gunicorn keeps at most worker_connections - threads connections alive per process: with one connection per
# thread, none (0 also closes, within a second, a connection that has sent nothing for 5 s).
keepalive = 30 if worker_connections > threads else 0
timeout = 120  # a slow upload of a large photo over a bad connection
max_requests = 5000
max_requests_jitter = 500
accesslog = "-"
# gunicorn's control socket (gunicornc) defaults to one path per user, shared by every instance on the
# machine: each instance names its own with MTM_GUNICORN_CONTROL_SOCKET, or runs without one.
control_socket = os.environ.get("MTM_GUNICORN_CONTROL_SOCKET", "") or "var/gunicorn.ctl"
control_socket_disable = not os.environ.get("MTM_GUNICORN_CONTROL_SOCKET")
