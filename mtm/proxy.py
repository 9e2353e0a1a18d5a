"""nginx in front of gunicorn: the configuration from mtm/nginx.conf (the template) and the environment.

``python -m mtm.proxy [--listen ADDR] [--upstream ADDR] [--site] [--out FILE]`` prints (or writes) it:
by default a whole nginx.conf that runs unprivileged from its own prefix directory (``make proxy``,
bench/slow_clients.py, the services test); with ``--site`` only the upstream and server blocks, for
Debian's ``/etc/nginx/sites-available/``. See docs/adr/0014-nginx-in-front-of-gunicorn.md."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from mtm.env import ENV, Env

TEMPLATE = Path(__file__).with_name("nginx.conf")

#: The main and events contexts of a whole configuration; paths are relative to nginx's prefix (-p).
_MAIN = """\
# Written by `python -m mtm.proxy` from mtm/nginx.conf: run with `nginx -p DIR -c nginx.conf`.
worker_processes auto;
pid nginx.pid;
error_log stderr error;  # not every body buffered to a file (a warning)

events {
    worker_connections 1024;
}

http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    server_tokens off;
    client_body_temp_path client_body;
    proxy_temp_path proxy;
    fastcgi_temp_path fastcgi;
    uwsgi_temp_path uwsgi;
    scgi_temp_path scgi;

%s
}
"""


def nginx_site(*, listen: str, upstream: str, env: Env = ENV) -> str:
    """The upstream and server blocks: nginx on ``listen`` in front of gunicorn on ``upstream``."""
    text = TEMPLATE.read_text()
    for name, value in (("LISTEN", listen), ("UPSTREAM", upstream), ("MAX_BODY", str(env.max_request_bytes)),
                        ("OPENROSA_LIMIT", str(env.max_submission_bytes))):
        text = text.replace(f"@{name}@", value)
    return text


def nginx_conf(*, listen: str, upstream: str, env: Env = ENV) -> str:
    """A whole nginx.conf around :func:`nginx_site`, for ``nginx -p <prefix> -c nginx.conf``."""
    site = "".join(f"    {line}".rstrip() + "\n" for line in nginx_site(listen=listen, upstream=upstream,
                                                                          env=env).splitlines())
    return _MAIN % site.rstrip("\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mtm.proxy", description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default=os.environ.get("MTM_PROXY_LISTEN", "127.0.0.1:8080"))
    parser.add_argument("--upstream", default=os.environ.get("MTM_BIND", "127.0.0.1:8000"),
                        help="gunicorn's address (MTM_BIND, as mtm/gunicorn.conf.py binds)")
    parser.add_argument("--site", action="store_true", help="only the upstream and server blocks")
    parser.add_argument("--out", type=Path, help="write here instead of printing")
    args = parser.parse_args(argv)
    render = nginx_site if args.site else nginx_conf
    text = render(listen=args.listen, upstream=args.upstream)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
