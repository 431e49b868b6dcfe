"""Deadlines on database work: a statement timeout the server enforces, and a client-side cut.

A statement timeout only helps while the server still reads what the client sends. A database
that hangs (a stalled network path, a frozen host, a proxy that stops forwarding without
closing) never answers at all, and libpq has no client-side read timeout, so a thread waiting
on it would wait for ever and keep its pooled connection. So every connection checked out
under a :class:`Deadline` is registered with it, and :meth:`Deadline.expire` shuts those
connections' sockets down: the waiting call then fails at once with a disconnection error, and
SQLAlchemy invalidates the connection (and the pool's older ones), so nothing stale is reused.

Outside a deadline (the command line, the release watcher, snapshot builds) connections run
with no statement timeout. A checkout sends ``SET statement_timeout`` only when the connection
does not hold that value yet (each connection remembers the last it set): in steady state a
request's checkout costs no round trip.

A checkout also checks, without a round trip, that the pooled connection is still alive: an
idle connection has nothing to read, so a socket that polls readable means the server has
spoken or hung up — a restart or ``pg_terminate_backend`` sends its FATAL message and closes.
Then the ``SET`` is sent anyway and a dead connection fails it, so the pool replaces it (and
every older one) before anyone uses it: what a pre-ping's ``SELECT 1`` would find, for a
``poll()`` instead of a round trip. A peer that vanishes without closing (a frozen host) is
seen by neither, only by the deadline's cut.

Hand-written because neither psycopg2 nor SQLAlchemy offers a client-side timeout on a running
statement; SQLAlchemy's documented way to test connections on checkout is the event used here.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import select
import socket
import threading
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, event, exc
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from geogrid.errors import DatabaseUnavailableError
from geogrid.i18n import tr


class Deadline:
    """The database connections of one unit of work (a request), and their time limit.

    ``statement_timeout_s`` is what the server enforces per statement; :meth:`expire` (called by
    whoever keeps the clock, e.g. the event loop) cuts every connection still checked out.
    """

    def __init__(self, statement_timeout_s: float) -> None:
        self.statement_timeout_s = statement_timeout_s
        self.expired = False
        self._lock = threading.Lock()
        self._sockets: dict[int, int] = {}  # id(pool entry) -> socket file descriptor

    def register(self, entry: ConnectionPoolEntry, dbapi_connection: Any) -> None:
        with self._lock:
            if self.expired:
                raise self.passed()
            self._sockets[id(entry)] = dbapi_connection.fileno()

    def unregister(self, entry: ConnectionPoolEntry) -> None:
        with self._lock:
            self._sockets.pop(id(entry), None)

    def expire(self) -> None:
        """Cut every connection still checked out under this deadline (from any thread)."""
        with self._lock:
            self.expired = True
            for fd in self._sockets.values():
                _shut_down(fd)
            self._sockets.clear()

    def passed(self) -> DatabaseUnavailableError:
        """The error to answer once the deadline has passed."""
        return DatabaseUnavailableError(
            tr(
                "the database did not answer within {seconds} s; try again shortly",
                seconds=f"{self.statement_timeout_s:g}",
            )
        )


def _shut_down(fd: int) -> None:
    # shutdown() acts on the socket, not on this duplicate descriptor: the thread blocked in
    # libpq's recv() on the original wakes with end-of-file. The duplicate is closed here;
    # the original stays open until SQLAlchemy discards the connection.
    with contextlib.suppress(OSError):
        sock = socket.socket(fileno=os.dup(fd))
        with sock:
            sock.shutdown(socket.SHUT_RDWR)


_current: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar(
    "geogrid_db_deadline", default=None
)


@contextlib.contextmanager
def bound(deadline: Deadline) -> Iterator[Deadline]:
    """Run the block (and the threads it starts with a copy of its context) under ``deadline``."""
    token = _current.set(deadline)
    try:
        yield deadline
    finally:
        _current.reset(token)


def activate(deadline: Deadline | None) -> contextvars.Token[Deadline | None]:
    """Set ``deadline`` for the current context (for async dependencies that cannot use a
    ``with`` block across their ``yield``); undo with :func:`deactivate`."""
    return _current.set(deadline)


def deactivate(token: contextvars.Token[Deadline | None]) -> None:
    _current.reset(token)


def install(engine: Engine) -> None:
    """Make every checkout from ``engine`` set its statement timeout and honour deadlines."""

    @event.listens_for(engine, "checkout")
    def _checkout(
        dbapi_connection: Any, entry: ConnectionPoolEntry, proxy: PoolProxiedConnection
    ) -> None:
        deadline = _current.get()
        if deadline is not None:
            deadline.register(entry, dbapi_connection)
            entry.info[_KEY] = deadline
        timeout_ms = 0 if deadline is None else max(1, int(deadline.statement_timeout_s * 1000))
        if entry.info.get(_TIMEOUT) == timeout_ms and not _server_spoke(dbapi_connection):
            return
        autocommit = dbapi_connection.autocommit
        try:
            # Outside a transaction, so that a rollback cannot undo it.
            dbapi_connection.autocommit = True
            with dbapi_connection.cursor() as cur:
                cur.execute("SET statement_timeout = %s", (timeout_ms,))
            dbapi_connection.autocommit = autocommit
            entry.info[_TIMEOUT] = timeout_ms
        except Exception as error:
            entry.info.pop(_TIMEOUT, None)
            _forget(entry)
            if deadline is not None and deadline.expired:
                raise deadline.passed() from error
            # A dead pooled connection (the server restarted): the pool drops it and every
            # older one, and tries a new connection.
            raise exc.InvalidatePoolError(str(error)) from error

    def _forget(entry: ConnectionPoolEntry, *_: Any) -> None:
        deadline = entry.info.pop(_KEY, None)
        if deadline is not None:
            deadline.unregister(entry)

    event.listen(engine, "checkin", lambda _dbapi, entry: _forget(entry))
    event.listen(engine, "invalidate", lambda _dbapi, entry, _exc: _forget(entry))
    event.listen(engine, "soft_invalidate", lambda _dbapi, entry, _exc: _forget(entry))
    event.listen(engine, "close", lambda _dbapi, entry: _forget(entry))


def _server_spoke(dbapi_connection: Any) -> bool:
    """Whether an idle pooled connection has something to read (or cannot say): the server
    sent a message or closed the connection. Never blocks."""
    try:
        poller = select.poll()
        poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLPRI)
        return bool(poller.poll(0))
    except Exception:  # closed (psycopg2 raises its own error), or no socket to ask
        return True


_KEY = "geogrid_deadline"
#: The statement timeout (ms) a pooled connection was last given, in its ``info``
_TIMEOUT = "geogrid_statement_timeout_ms"

__all__ = ["Deadline", "activate", "bound", "deactivate", "install"]
