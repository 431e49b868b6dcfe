"""Checkouts (geogrid/db/deadlines.py): the statement timeout a deadline asks for, sent only when
it changes; a pooled connection the server closed replaced before anyone uses it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text

from geogrid.db import deadlines
from geogrid.db.engine import make_engine


@pytest.fixture
def one_connection(empty_url: str) -> Iterator[Engine]:
    """An engine whose pool holds a single connection (so each checkout gets the same one)."""
    engine = make_engine(empty_url, pool_size=1)
    engine.pool._max_overflow = 0  # type: ignore[attr-defined]
    yield engine
    engine.dispose()


@pytest.fixture
def observer(empty_url: str) -> Iterator[Engine]:
    engine = create_engine(empty_url, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def _backend(engine: Engine) -> tuple[int, str]:
    with engine.connect() as conn:
        pid = int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
        timeout = str(conn.execute(text("SHOW statement_timeout")).scalar_one())
    return pid, timeout


def _last_statement(observer: Engine, pid: int) -> str:
    with observer.connect() as conn:
        return str(
            conn.execute(
                text("SELECT query FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            ).scalar_one()
        )


def test_each_checkout_holds_its_deadlines_timeout(one_connection: Engine) -> None:
    _, outside = _backend(one_connection)
    with deadlines.bound(deadlines.Deadline(2.5)):
        _, inside = _backend(one_connection)
        _, again = _backend(one_connection)
    with deadlines.bound(deadlines.Deadline(120)):
        _, long = _backend(one_connection)
    _, after = _backend(one_connection)
    assert (outside, inside, again, long, after) == ("0", "2500ms", "2500ms", "2min", "0")


def test_a_checkout_sends_nothing_while_the_timeout_holds(
    one_connection: Engine, observer: Engine
) -> None:
    with deadlines.bound(deadlines.Deadline(5)):
        pid, _ = _backend(one_connection)
        with one_connection.connect() as conn:
            conn.execute(text("SELECT 'the last thing said'"))
        # returned to the pool: its transaction rolled back
        assert _last_statement(observer, pid) == "ROLLBACK"
        with one_connection.connect() as conn:  # the same connection, checked out again
            assert _last_statement(observer, pid) == "ROLLBACK"
    with one_connection.connect() as conn:  # no deadline now: the timeout changes
        assert _last_statement(observer, pid).startswith("SET statement_timeout")


def test_a_connection_the_server_ended_is_replaced_at_checkout(
    one_connection: Engine, observer: Engine
) -> None:
    with deadlines.bound(deadlines.Deadline(5)):
        pid, _ = _backend(one_connection)
        with observer.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
        time.sleep(0.2)  # the goodbye reaches the pooled socket
        # no error: the checkout saw the closed socket and the pool opened a new connection
        new_pid, timeout = _backend(one_connection)
    assert new_pid != pid
    assert timeout == "5s"
