"""The outbox and its workers against real PostGIS and a real HTTP receiver.

- an event written in a transaction that rolls back is never delivered;
- webhooks get the kinds they asked for, signed;
- several workers (separate processes, as on several hosts) at once deliver every event, and
  none twice: no claim is taken by two workers;
- a webhook that is down keeps its deliveries (retried, with backoff), and a paused one too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import Engine, text

from bench.receiver import Receiver
from geogrid import db, notify
from geogrid.settings import NotifySettings
from tests.conftest import REPO

SECRET = "test-secret-0123456789"
FAST = NotifySettings(
    notify_poll_s=0.05, notify_backoff_s=0.1, notify_backoff_max_s=0.5, notify_timeout_s=5
)


@pytest.fixture
def engine(fresh_demo_url: str) -> Iterator[Engine]:
    engine = db.make_engine(fresh_demo_url)
    yield engine
    engine.dispose()


def _webhook(engine: Engine, url: str, kinds: list[str] | None = None, name: str = "hook") -> None:
    with engine.begin() as conn:
        notify.add_webhook(conn, name, url, kinds=kinds, secret=SECRET, actor="test")


def _emit(engine: Engine, n: int, kind: str = "case.warning") -> list[int]:
    with engine.begin() as conn:
        return [notify.emit(conn, kind, {"n": i, "level": "yellow"}) for i in range(n)]


def test_an_event_rolled_back_is_never_delivered(engine: Engine) -> None:
    with Receiver(SECRET) as receiver:
        _webhook(engine, receiver.url)
        with engine.connect() as conn:
            transaction = conn.begin()
            lost = notify.emit(conn, "case.assigned", {"case_id": None, "why": "rolled back"})
            transaction.rollback()
        kept = _emit(engine, 1)
        tally = notify.run_worker(engine, FAST, until_idle=True, max_seconds=30)
    assert lost not in receiver.events
    assert set(receiver.events) == set(kept)
    assert tally.delivered == 1
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM notify_event WHERE id = :id"), {"id": lost})
        assert rows.scalar() == 0


def test_webhooks_get_the_kinds_they_asked_for_signed(engine: Engine) -> None:
    with Receiver(SECRET) as assigned, Receiver(SECRET) as everything:
        _webhook(engine, assigned.url, ["case.assigned"], name="assigned")
        _webhook(engine, everything.url, name="all")
        warnings = _emit(engine, 2, "case.warning")
        assignments = _emit(engine, 1, "case.assigned")
        notify.run_worker(engine, FAST, until_idle=True, max_seconds=30)
    assert set(assigned.events) == set(assignments)
    assert set(everything.events) == {*warnings, *assignments}
    assert assigned.bad_signatures == everything.bad_signatures == 0
    event = everything.events[warnings[1]]
    assert event["kind"] == "case.warning"
    assert event["payload"] == {"n": 1, "level": "yellow"}
    assert event["occurred_at"].endswith("+08:00")


def test_an_unknown_kind_is_a_programming_error(engine: Engine) -> None:
    with engine.begin() as conn, pytest.raises(ValueError, match=r"case\.asigned"):
        notify.emit(conn, "case.asigned", {})


def test_several_workers_at_once_deliver_every_event_once(
    engine: Engine, fresh_demo_url: str
) -> None:
    """Three `geogrid notify run` processes (as on three hosts) share one outbox."""
    with Receiver(SECRET, delay_s=0.002) as receiver:
        _webhook(engine, receiver.url, name="one")
        ids = _emit(engine, 400)
        env = {
            **os.environ,
            "GEOGRID_DATABASE_URL": fresh_demo_url,
            "GEOGRID_NOTIFY_BATCH": "7",
            "GEOGRID_NOTIFY_POLL_S": "0.05",
        }
        workers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "geogrid.cli.main",
                    "notify",
                    "run",
                    "--until-idle",
                    "--max-seconds",
                    "120",
                ],
                cwd=REPO,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for _ in range(3)
        ]
        reports = [w.communicate(timeout=180)[1].decode() for w in workers]
    assert all(w.returncode == 0 for w in workers), reports
    assert set(receiver.events) == set(ids)  # no loss
    assert max(receiver.counts.values()) == 1  # no double claim
    delivered = [int(r.rsplit("delivered ", 1)[1].split(",")[0]) for r in reports]
    assert sum(delivered) == len(ids)
    assert sum(1 for d in delivered if d) >= 2, f"one worker did everything: {delivered}"


def test_a_webhook_that_is_down_keeps_its_deliveries(engine: Engine) -> None:
    with Receiver(SECRET, fail_first=10**9) as down:
        _webhook(engine, down.url)
        ids = _emit(engine, 3)
        tally = notify.run_worker(engine, FAST, max_seconds=1.0)
    assert tally.delivered == 0 and tally.failed >= 3
    with engine.connect() as conn:
        state = notify.outbox_status(conn)
        attempts = conn.execute(
            text("SELECT min(attempts), max(attempts) FROM notify_delivery")
        ).one()
    # the first is retried; the others wait with it instead of knocking on a closed door
    assert (state.pending, state.failing, state.dead) == (3, 1, 0)
    assert down.requests == attempts[1]
    assert state.webhooks[0].last_error is not None
    assert "503" in state.webhooks[0].last_error
    assert attempts[1] >= 2  # tried again, with backoff, not given up
    # The webhook is back (a new address: the same name's url is all that matters here).
    with Receiver(SECRET) as back:
        with engine.begin() as conn:
            conn.execute(text("UPDATE notify_webhook SET url = :u"), {"u": back.url})
            conn.execute(text("UPDATE notify_delivery SET next_at = now()"))
        notify.run_worker(engine, FAST, until_idle=True, max_seconds=30)
    assert set(back.events) == set(ids)


def test_old_deliveries_die_only_when_a_maximum_age_is_set(engine: Engine) -> None:
    with Receiver(SECRET, fail_first=10**9) as down:
        _webhook(engine, down.url)
        _emit(engine, 2)
        with engine.begin() as conn:
            conn.execute(text("UPDATE notify_event SET created_at = now() - interval '3 days'"))
        notify.run_worker(engine, FAST, max_seconds=0.5)
        with engine.connect() as conn:
            assert notify.outbox_status(conn).dead == 0
        aged = FAST.model_copy(update={"notify_max_age_h": 48})
        tally = notify.run_worker(engine, aged, until_idle=True, max_seconds=10)
    assert tally.dead == 2
    with engine.connect() as conn:
        state = notify.outbox_status(conn)
    assert (state.pending, state.dead) == (0, 2)


def test_a_paused_webhook_keeps_its_deliveries_until_resumed(engine: Engine) -> None:
    with Receiver(SECRET) as receiver:
        _webhook(engine, receiver.url)
        with engine.begin() as conn:
            notify.set_active(conn, "hook", False)
        ids = _emit(engine, 2)
        notify.run_worker(engine, FAST, max_seconds=0.3)
        assert receiver.requests == 0
        with engine.begin() as conn:
            assert notify.outbox_status(conn).webhooks[0].pending == 2
            notify.set_active(conn, "hook", True)
        notify.run_worker(engine, FAST, until_idle=True, max_seconds=30)
    assert set(receiver.events) == set(ids)


def test_an_event_no_webhook_takes_is_not_stored(engine: Engine) -> None:
    with Receiver(SECRET) as receiver:
        _webhook(engine, receiver.url, ["case.assigned"])
        assert _emit(engine, 2, "case.warning") == [0, 0]
        (kept,) = _emit(engine, 1, "case.assigned")
    assert kept > 0
    with engine.connect() as conn:
        assert conn.execute(text("SELECT array_agg(id) FROM notify_event")).scalar() == [kept]


@pytest.mark.parametrize("linger_s", [0.0, 0.3])
def test_a_stream_of_events_goes_out_in_fewer_rounds_when_the_worker_lingers(
    engine: Engine, linger_s: float
) -> None:
    """One event every 20 ms for 1.2 s: without lingering the worker takes them a round (a
    commit) each, or nearly; lingering 0.3 s it takes them in a handful of rounds, each
    delivered once."""
    settings = FAST.model_copy(update={"notify_linger_s": linger_s})
    with Receiver(SECRET) as receiver:
        _webhook(engine, receiver.url)
        stop = threading.Event()
        found: list[notify.Tally] = []
        worker = threading.Thread(
            target=lambda: found.append(notify.run_worker(engine, settings, stop=stop))
        )
        worker.start()
        ids = []
        for _ in range(60):
            ids += _emit(engine, 1)
            time.sleep(0.02)
        deadline = time.monotonic() + 20
        while len(receiver.events) < len(ids) and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        worker.join(timeout=20)
    assert set(receiver.events) == set(ids) and found[0].delivered == len(ids)
    rounds = found[0].rounds
    if linger_s:
        assert rounds <= 12, rounds  # 1.2 s / (0.3 s + a round) plus the last
    else:
        assert rounds >= 20, rounds


class _Elsewhere(BaseHTTPRequestHandler):
    """A webhook address that answers every delivery with a redirect, or too late."""

    protocol_version = "HTTP/1.1"
    delay_s = 0.0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(self.delay_s)
        try:
            self.send_response(307)
            self.send_header("Location", self.server.forward_to)  # type: ignore[attr-defined]
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"moved")
        except (BrokenPipeError, ConnectionResetError):  # too late: the worker hung up
            self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("delay_s", [0.0, 2.0], ids=["redirect", "too-slow"])
def test_a_redirect_or_a_slow_answer_is_a_failed_try(engine: Engine, delay_s: float) -> None:
    """A delivery is answered by the address configured, in time, or tried again later: a
    redirect is not followed (the secret's signature goes only where an admin sent it)."""
    handler = type("Handler", (_Elsewhere,), {"delay_s": delay_s})
    with Receiver(SECRET) as elsewhere, ThreadingHTTPServer(("127.0.0.1", 0), handler) as door:
        door.forward_to = elsewhere.url  # type: ignore[attr-defined]
        threading.Thread(target=door.serve_forever, daemon=True).start()
        _webhook(engine, f"http://127.0.0.1:{door.server_address[1]}/hook")
        _emit(engine, 1)
        settings = FAST.model_copy(update={"notify_timeout_s": 0.5})
        tally = notify.run_worker(engine, settings, max_seconds=1.0)
        door.shutdown()
    with engine.connect() as conn:
        state = notify.outbox_status(conn)
    assert tally.delivered == 0 and tally.failed >= 1
    assert (state.pending, state.failing) == (1, 1)
    assert elsewhere.requests == 0
    error = state.webhooks[0].last_error or ""
    assert ("HTTP 307: moved" in error) if delay_s == 0 else ("timed out" in error), error
