"""gunicorn for production and `make serve`: `gunicorn mtm.wsgi -c mtm/gunicorn.conf.py`, behind nginx
(mtm/nginx.conf, `make proxy`; docs/adr/0014-nginx-in-front-of-gunicorn.md).

2 processes per core, 8 threads each (MTM_WEB_WORKERS, MTM_WEB_THREADS). A request holds a thread, not
the process: behind nginx only while the application works (nginx has read the body and takes the
response as fast as it is written), without a proxy also while a slow tablet sends its body. So four
long reads (a page of 30,000 records, an export written on request) or slow uploads leave threads to
answer a tablet's post (bench/slow_clients.py). The price is the GIL under a flood of posts: 50
clients posting as fast as they can got about 320 submissions/s from 4 x 1 thread and 230 from 4 x 4
(bench/ingest.py), far above a field team's rate. gthread keeps connections alive between a tablet's
requests (HEAD, then POST) and defers a connection that has sent nothing to its poller.

A process holds at most 2 connections per thread (MTM_WEB_CONNECTIONS, 16 by default): it stops accepting
when it has that many, and closes a kept-alive connection after its response when as many again are already
waiting in its poller, so the tablet's next request connects again and lands in a process with a thread
free. gunicorn's own default (1,000) let the first process to wake take most connections of a burst and
queue them for its 8 threads while the others idled: at 50 clients posting as fast as they can, 35 clients
waited 3-4 times as long as the other 15 and the p99 was about 1 s; capped, 420-480 ms (docs/adr/0018,
third pass). Connections past that in every process wait in the listening socket's queue, in order
(without a proxy, 64 tablets holding a connection at once on 2 cores; nginx in front holds its clients'
connections itself)."""

import multiprocessing
import os

bind = os.environ.get("MTM_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("MTM_WEB_WORKERS", multiprocessing.cpu_count() * 2))
threads = int(os.environ.get("MTM_WEB_THREADS", 8))
worker_connections = int(os.environ.get("MTM_WEB_CONNECTIONS", 2 * threads))
keepalive = 30
timeout = 120  # a slow upload of a large photo over a bad connection
max_requests = 5000
max_requests_jitter = 500
accesslog = "-"
# gunicorn's control socket (gunicornc) defaults to one path per user, shared by every instance on the
# machine: each instance names its own with MTM_GUNICORN_CONTROL_SOCKET, or runs without one.
control_socket = os.environ.get("MTM_GUNICORN_CONTROL_SOCKET", "") or "var/gunicorn.ctl"
control_socket_disable = not os.environ.get("MTM_GUNICORN_CONTROL_SOCKET")
