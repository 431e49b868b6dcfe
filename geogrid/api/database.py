"""How requests reach the database without starving each other, and within a deadline.

A request that needs the database first takes one of ``GEOGRID_POOL_SIZE`` slots, waiting on
the event loop (no thread is held while it waits) for at most ``GEOGRID_POOL_TIMEOUT_S``; then
503 with Retry-After. Only with a slot does it check a connection out of the pool, so no thread
ever blocks on the pool, and a request that holds a connection never waits behind requests
that wait for one (the freeze of 10 connections and 40 threads waiting on each other).

Each slot comes with a :class:`~geogrid.db.deadlines.Deadline` of its class of work
(interactive or long): the server cancels any statement running longer, and when the clock
runs out the request's connections are cut, so a database that hangs without answering is a
503 after the deadline, not a request held for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import anyio
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from geogrid.boundaries.releases import newest_release_id
from geogrid.db import deadlines
from geogrid.db.deadlines import Deadline
from geogrid.errors import DatabaseBusyError, DatabaseUnavailableError
from geogrid.i18n import tr
from geogrid.lookup import health
from geogrid.settings import DatabaseSettings

T = TypeVar("T")

#: SQLSTATE of a statement cancelled by statement_timeout.
QUERY_CANCELED = "57014"


class Work(enum.Enum):
    """Classes of database work, each with its own statement timeout and deadline."""

    #: Reads and writes a person waits for.
    interactive = "interactive"
    #: Publishing a plan, exports, imports, batches.
    long = "long"
    #: Readiness checks: the database must answer within a second.
    probe = "probe"


class Database:
    """The process's gate to the database. Make it inside the running event loop."""

    def __init__(self, engine: Engine, settings: DatabaseSettings) -> None:
        self.engine = engine
        self.slots = settings.pool_size
        self._free = anyio.Semaphore(settings.pool_size)
        self._wait_s = settings.pool_timeout_s
        self.seconds = {
            Work.interactive: settings.timeout_interactive_s,
            Work.long: settings.timeout_long_s,
            Work.probe: 1.0,
        }
        #: monotonic time of the last answer from the database, and of the last failure
        self.last_answer = 0.0
        self.last_failure = 0.0

    @property
    def in_use(self) -> int:
        """Slots taken now (requests using the database)."""
        return self.slots - self._free.value

    @property
    def down(self) -> bool:
        """Whether the database failed and has not answered since: callers with a fallback (a
        cached key) use it without waiting. Any answer, or the app's probe once a second
        (:meth:`probe_if_down`), ends it."""
        return self.last_failure > self.last_answer

    async def probe_if_down(self) -> None:
        """While the database is down, ask it once (a second at most)."""
        if self.down:
            with contextlib.suppress(Exception):
                await self.run(health.ping, self.engine, kind=Work.probe)

    @contextlib.asynccontextmanager
    async def work(self, kind: Work = Work.interactive) -> AsyncIterator[Deadline]:
        """Hold a slot and run the block's database work (in threads started within it, which
        inherit the context) under a deadline of class ``kind``."""
        seconds = self.seconds[kind]
        started = time.monotonic()
        with anyio.move_on_after(min(self._wait_s, seconds)) as waiting:
            await self._free.acquire()
        if waiting.cancelled_caught:
            self.last_failure = time.monotonic()
            raise DatabaseBusyError(
                tr(
                    "all {slots} database connections are busy; try again shortly",
                    slots=self.slots,
                )
            )
        # The deadline counts from the request's arrival: waiting for a slot is part of it.
        deadline = Deadline(seconds)
        remaining = max(0.0, seconds - (time.monotonic() - started))
        timer = asyncio.get_running_loop().call_later(remaining, deadline.expire)
        token = deadlines.activate(deadline)
        try:
            yield deadline
        except (DBAPIError, PoolTimeoutError) as error:
            self.last_failure = time.monotonic()
            if (
                deadline.expired
                or getattr(getattr(error, "orig", None), "pgcode", None) == QUERY_CANCELED
            ):
                raise deadline.passed() from error
            if isinstance(error, PoolTimeoutError) or getattr(
                error, "connection_invalidated", False
            ):
                raise DatabaseUnavailableError(
                    tr("the database is unavailable; retry shortly")
                ) from error
            raise
        except DatabaseUnavailableError:
            self.last_failure = time.monotonic()
            raise
        else:
            self.last_answer = time.monotonic()
        finally:
            with contextlib.suppress(ValueError):  # reset from another context: nothing to undo
                deadlines.deactivate(token)
            timer.cancel()
            self._free.release()

    async def run(self, fn: Callable[..., T], *args: Any, kind: Work = Work.interactive) -> T:
        """``fn(*args)`` in a worker thread, holding a slot, under a deadline of ``kind``."""
        async with self.work(kind):
            return await anyio.to_thread.run_sync(fn, *args)


class Replica:
    """A hot standby of the primary, and the newest release it is known to have replayed.

    Release-pinned reads go to the replica only when it has replayed the release they need
    (:meth:`may_serve`, then :meth:`begin`); otherwise, and while it fails, they read from the
    primary. Its own gate
    (:class:`Database`) gives it ``GEOGRID_POOL_SIZE`` slots and the same deadlines.
    """

    #: While the replica is known to be behind, ask it again at most this often (seconds); in
    #: between, pinned reads go straight to the primary.
    RECHECK_S = 0.1

    def __init__(self, database: Database) -> None:
        self.database = database
        #: The newest release seen on the replica (0: none yet). Replay only moves forward.
        self.release = 0
        self._checked = 0.0

    def may_serve(self, release: int) -> bool:
        """Whether a read needing ``release`` should try the replica (it may still turn out
        behind: :meth:`begin` says)."""
        if self.database.down:
            return False
        return self.release >= release or time.monotonic() - self._checked >= self.RECHECK_S

    def begin(self, release: int) -> Connection | None:
        """A connection in a transaction when the replica has replayed ``release`` (asked
        only when not known yet: one tiny query), else None (in a worker thread, holding a
        slot of the replica's gate)."""
        conn = self.database.engine.connect()
        try:
            conn.begin()
            if self.release < release:
                self._checked = time.monotonic()
                self.release = max(self.release, newest_release_id(conn) or 0)
                if self.release < release:
                    conn.close()
                    return None
        except BaseException:
            conn.close()
            raise
        return conn


__all__ = ["Database", "Replica", "Work"]
