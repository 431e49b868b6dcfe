"""The outbox beside case creation (bench.cases): a webhook receiver and a delivery worker.

``bench.cases`` runs ``POST /v1/cases`` twice per round at the same rate: once with no webhook
(``emit`` finds no subscriber and stores nothing: one round trip) and once with a webhook
taking every kind, so each new case also writes its ``case.reported`` event and delivery row,
while one ``geogrid notify run`` worker — pinned with the server to core 0, its database
backends too — claims and posts them to a receiver (``bench.receiver``, on the client's core
1) that checks each signature. After each outbox run the bench waits for the worker to empty
the outbox and checks that every case's event was delivered, once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

from bench import http
from bench.database import pin_postgres
from geogrid import notify
from geogrid.notify.delivery import pending_count

SECRET = "bench-outbox-secret-0123456789"
HOOK = "bench-receiver"
APP = "bench-notify"


@dataclass
class Outbox:
    """The running receiver and worker, and what the runs sent through them."""

    receiver_url: str
    receiver_log: Path
    engine: Engine
    worker_pid: int = 0
    receiver_pid: int = 0
    events: int = 0
    drain_s: float = 0.0
    #: CPU seconds over the outbox runs (each from its start until the outbox was empty):
    #: the delivery worker and its database backends; the receiver
    worker_cpu_s: float = 0.0
    receiver_cpu_s: float = 0.0

    def worker_pids(self) -> set[int]:
        """The delivery worker's process and its database backends."""
        with self.engine.connect() as conn:
            backends = conn.execute(
                text("SELECT pid FROM pg_stat_activity WHERE application_name = :a"), {"a": APP}
            ).scalars()
            return {self.worker_pid, *backends}

    def subscribe(self) -> None:
        with self.engine.begin() as conn:
            notify.add_webhook(conn, HOOK, self.receiver_url, secret=SECRET, actor="bench")
        with self.engine.connect() as conn:
            pids = conn.execute(
                text("SELECT pid FROM pg_stat_activity WHERE application_name = :a"), {"a": APP}
            ).scalars()
            for pid in pids:
                pin_postgres(str(self.engine.url), pid, http.server_cpus())

    def drain_and_unsubscribe(self, created: int, timeout_s: float = 120) -> float:
        """Wait until the worker has delivered everything; check it; remove the webhook."""
        started = time.monotonic()
        while pending_count(self.engine):
            if time.monotonic() - started > timeout_s:
                raise AssertionError(f"the outbox was not empty {timeout_s:.0f} s after the run")
            time.sleep(0.1)
        waited = time.monotonic() - started
        with self.engine.begin() as conn:
            delivered = conn.execute(
                text(
                    "SELECT count(*) FROM notify_delivery d JOIN notify_event e "
                    "ON e.id = d.event_id WHERE d.status = 'delivered' AND d.attempts = 1 "
                    "AND e.kind = 'case.reported'"
                )
            ).scalar_one()
            if delivered != created:
                raise AssertionError(
                    f"{created} cases were created with the webhook on but {delivered} "
                    "case.reported events were delivered (first try)"
                )
            notify.remove_webhook(conn, HOOK)
        self.events += created
        self.drain_s = max(self.drain_s, waited)
        return waited


def receiver_summary(workdir: Path) -> str:
    """The receiver's last line: events, deliveries (equal: none twice), bad signatures."""
    lines = (workdir / "receiver.log").read_text().strip().splitlines()
    return lines[-1] if lines else "(the receiver said nothing)"


@contextmanager
def outbox(url: str, engine: Engine, workdir: Path) -> Iterator[Outbox]:
    """A receiver on the client core and a shipped worker on the server core, until the end."""
    port = http._free_port()
    receiver_log = workdir / "receiver.log"
    worker_url = make_url(url).update_query_dict({"application_name": APP})
    env = {
        **os.environ,
        "GEOGRID_DATABASE_URL": worker_url.render_as_string(hide_password=False),
    }
    with open(receiver_log, "wb") as out, open(workdir / "worker.log", "wb") as worker_out:
        receiver = subprocess.Popen(
            [
                "taskset",
                "-c",
                http.CLIENT_CPU,
                sys.executable,
                "-m",
                "bench.receiver",
                "--port",
                str(port),
                "--secret",
                SECRET,
            ],
            cwd=http.REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        worker = subprocess.Popen(
            [
                "taskset",
                "-c",
                http.SERVER_CPU,
                sys.executable,
                "-m",
                "geogrid.cli.main",
                "notify",
                "run",
            ],
            cwd=http.REPO,
            env=env,
            stdout=worker_out,
            stderr=subprocess.STDOUT,
        )
        try:
            yield Outbox(
                f"http://127.0.0.1:{port}/hook", receiver_log, engine, worker.pid, receiver.pid
            )
        finally:
            for process in (worker, receiver):
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()


def _timed(engine: Engine, statement: Callable[[Connection, int], object], n: int) -> list[float]:
    """Wall ms of ``statement`` in its own transaction (commit excluded), ``n`` times."""
    out = []
    with engine.connect() as conn:
        for i in range(n):
            with conn.begin():
                started = time.perf_counter()
                statement(conn, i)
                out.append((time.perf_counter() - started) * 1e3)
    return sorted(out)


def main() -> None:
    """``emit`` alone, in this process on core 0: no webhook, one webhook, beside a round trip."""
    import argparse
    import statistics

    from bench.database import demo_database
    from geogrid import db

    parser = argparse.ArgumentParser(prog="python -m bench.outbox", description=main.__doc__)
    parser.add_argument("-n", type=int, default=1000, help="statements of each kind (1000)")
    args = parser.parse_args()
    os.sched_setaffinity(0, http.server_cpus())
    payload = {
        "case_id": 1,
        "status": "dispatched",
        "category": {"code": "C0101", "name": "井盖缺失"},
        "description": "人行道井盖缺失，行人易跌落",
        "address": None,
        "lon": 117.3338,
        "lat": 31.8717,
        "grid": {
            "code": "340102006004002",
            "name": "某某网格",
            "community": {"code": "340102006004", "name": "某某社区"},
            "street": {"code": "340102006", "name": "某某街道"},
            "leader": {"name": "张三", "phone": "13800000000"},
        },
        "release": 1,
        "due_at": "2026-11-29T10:15:02+08:00",
        "flags": [],
        "actor": "bench",
    }
    with demo_database() as url:
        engine = db.make_engine(url)
        with engine.connect() as conn:
            pin_postgres(
                url,
                int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one()),
                http.server_cpus(),
            )
        rows = [("SELECT 1 (a round trip, the floor)", lambda c, i: c.execute(text("SELECT 1")))]
        rows.append(
            (
                "emit, no webhook (stores nothing)",
                lambda c, i: notify.emit(c, "case.assigned", payload),
            )
        )
        results = [(label, _timed(engine, fn, args.n)) for label, fn in rows]
        with engine.begin() as conn:
            notify.add_webhook(conn, HOOK, "http://127.0.0.1:9/", secret=SECRET, actor="bench")
        results.append(
            (
                "emit, one webhook (event + delivery)",
                _timed(engine, lambda c, i: notify.emit(c, "case.assigned", payload), args.n),
            )
        )
        engine.dispose()
    print(f"\n{args.n} statements each, one connection on core 0, wall ms (commit not included):")
    for label, times in results:
        print(
            f"  {label:40s} median {statistics.median(times):6.3f}  "
            f"p90 {times[int(0.9 * len(times))]:6.3f}  p99 {times[int(0.99 * len(times))]:6.3f}"
        )
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
