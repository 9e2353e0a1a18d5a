"""A real HTTP receiver for the REST-service tests: ``http.server`` on a free port of 127.0.0.1 in a
thread, answering each POST with the next status of ``codes`` (the last one repeats) and keeping what it
was sent. ``hold`` keeps every answer back until the test sets it (a receiver that hangs)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    def __init__(self, codes: tuple[int, ...] = (200,), hold: threading.Event | None = None) -> None:
        self.codes = list(codes)
        self.hold = hold
        self.received: list[Received] = []
        self.arrived = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()},
                                                      body))
                    code = receiver.codes[min(len(receiver.received), len(receiver.codes)) - 1]
                receiver.arrived.set()
                if receiver.hold is not None:
                    receiver.hold.wait(30)
                text = f"answer {len(receiver.received)}: {code}".encode()
                self.send_response(code)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@contextmanager
def receiving(codes: tuple[int, ...] = (200,), hold: threading.Event | None = None) -> Iterator[Receiver]:
    receiver = Receiver(codes, hold)
    receiver.thread.start()
    try:
        yield receiver
    finally:
        if hold is not None:
            hold.set()
        receiver.server.shutdown()
        receiver.server.server_close()
