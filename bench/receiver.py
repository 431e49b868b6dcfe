"""A webhook receiver that checks signatures and deduplicates by event id, as receivers must.

Used by the notification tests (tests/notify) and by ``bench.cases --outbox``: it answers
``fail_first`` requests with 503 (a webhook that is down), then 204; it verifies
``X-Geogrid-Signature`` with the shared secret and refuses a bad one with 401; it keeps every
accepted request's event id, so a test can tell deliveries (``counts``) from events
(``events``, deduplicated).

    python -m bench.receiver --port 9000 --secret 0123456789abcdef   # prints what arrives
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import signal
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: Signatures older than this are replays and refused (docs/notifications.md).
TOLERANCE_S = 300


def verify(secret: str, header: str, body: bytes, now: float | None = None) -> bool:
    """Whether ``header`` (``t=…,v1=…``) signs ``body`` with ``secret`` and is recent."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > TOLERANCE_S:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), fields.get("v1", ""))


class Receiver:
    """A threaded HTTP receiver on 127.0.0.1 (a free port unless given)."""

    def __init__(
        self, secret: str, fail_first: int = 0, delay_s: float = 0.0, port: int = 0
    ) -> None:
        self.secret, self.fail_first, self.delay_s = secret, fail_first, delay_s
        self.lock = threading.Lock()
        self.requests = 0
        self.failed = 0
        self.bad_signatures = 0
        #: accepted deliveries per event id (more than 1: delivered twice)
        self.counts: Counter[int] = Counter()
        #: each event once, by id (what a deduplicating receiver acts on)
        self.events: dict[int, dict[str, Any]] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            # keep-alive, as a webhook endpoint behind any real web server answers: the
            # worker's next delivery reuses the connection (each answer says its length)
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                with receiver.lock:
                    receiver.requests += 1
                    if receiver.failed < receiver.fail_first:
                        receiver.failed += 1
                        code = 503
                    elif not verify(
                        receiver.secret, self.headers.get("X-Geogrid-Signature", ""), body
                    ):
                        receiver.bad_signatures += 1
                        code = 401
                    else:
                        event = json.loads(body)
                        assert str(event["id"]) == self.headers["X-Geogrid-Event"]
                        receiver.counts[event["id"]] += 1
                        receiver.events.setdefault(event["id"], event)
                        code = 204
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def summary(self) -> str:
        """One line: events, deliveries accepted, requests refused (503) and bad signatures."""
        return (
            f"{len(self.events)} events, {sum(self.counts.values())} deliveries, "
            f"{self.failed} refused, {self.bad_signatures} bad signatures"
        )

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--fail-first", type=int, default=0)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with Receiver(args.secret, args.fail_first, port=args.port) as receiver:
        print(f"receiving at {receiver.url}", flush=True)
        seen = -1
        try:
            while True:
                time.sleep(1)
                with receiver.lock:
                    if len(receiver.events) != seen:
                        seen = len(receiver.events)
                        print(receiver.summary(), flush=True)
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            with receiver.lock:
                print(receiver.summary(), flush=True)


if __name__ == "__main__":
    main()
