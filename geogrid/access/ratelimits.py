"""Rate limits per key and per client address, counted in PostgreSQL so every process agrees.

The limits and their strategy come from the ``limits`` library (fixed windows: "120/minute");
its storages are Redis, Memcached, MongoDB or one process's memory. geogrid already has one
store every worker and host shares, PostgreSQL, so :class:`PostgresStorage` is a ``limits``
storage on an UNLOGGED table: one upsert per hit, no new service to run. Written here because
``limits`` ships no SQL storage.

Budgets: ``writes`` (every POST, PUT, DELETE that changes something), ``batches`` (the
million-point locate), ``failed_authentication`` (a wrong key, per client address). A request
spends from the budget of its key and from that of its address; either running out is a 429
with ``Retry-After``.

A process whose database is a hot standby (a read-only deployment) cannot write the table:
there each process counts in its own memory (``limits``' MemoryStorage), so every process
of such a deployment has the whole budget.
"""

from __future__ import annotations

import enum
import logging
import math
import time
from datetime import UTC, datetime

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from geogrid.db import prepared
from geogrid.errors import GeogridError
from geogrid.i18n import Message, tr

log = logging.getLogger("geogrid.access.ratelimits")
#: SQLSTATEs of a hot standby refusing the counters: no unlogged tables during recovery
#: (feature_not_supported), no writes (read_only_sql_transaction).
_ON_STANDBY = frozenset({"0A000", "25006"})

_INCR = text(
    """
    INSERT INTO rate_limit_counter AS c (key, hits, expires_at)
    VALUES (:key, :amount, clock_timestamp() + make_interval(secs => :expiry))
    ON CONFLICT (key) DO UPDATE SET
        hits = CASE WHEN c.expires_at <= clock_timestamp() THEN excluded.hits
                    ELSE c.hits + excluded.hits END,
        expires_at = CASE WHEN c.expires_at <= clock_timestamp() THEN excluded.expires_at
                          ELSE c.expires_at END
    RETURNING hits
    """
)
# Several counters in one statement (a request spends from its key's and its address's); in
# key order, so two requests counting the same keys lock their rows in the same order.
_INCR_MANY = text(
    """
    INSERT INTO rate_limit_counter AS c (key, hits, expires_at)
    SELECT k, :amount, clock_timestamp() + make_interval(secs => :expiry)
    FROM unnest(CAST(:keys AS text[])) AS k ORDER BY k
    ON CONFLICT (key) DO UPDATE SET
        hits = CASE WHEN c.expires_at <= clock_timestamp() THEN excluded.hits
                    ELSE c.hits + excluded.hits END,
        expires_at = CASE WHEN c.expires_at <= clock_timestamp() THEN excluded.expires_at
                          ELSE c.expires_at END
    RETURNING key, hits
    """
)
_GET = text(
    "SELECT hits, expires_at FROM rate_limit_counter "
    "WHERE key = :key AND expires_at > clock_timestamp()"
)


class PostgresStorage(Storage):
    """A ``limits`` storage on the ``rate_limit_counter`` table (migration 0005)."""

    STORAGE_SCHEME = ["geogrid+postgresql"]  # noqa: RUF012 (the limits base class declares it so)

    def __init__(self, engine: Engine) -> None:
        super().__init__(None, wrap_exceptions=False)
        self.engine = engine

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        with self.engine.begin() as conn:
            return int(
                conn.execute(_INCR, {"key": key, "amount": amount, "expiry": expiry}).one()[0]
            )

    def incr_many(self, keys: list[str], expiry: int, amount: int = 1) -> dict[str, int]:
        """:meth:`incr` of every key in ``keys`` at once: one statement, one round trip."""
        with self.engine.connect() as conn:
            # One statement needs no transaction around it: no BEGIN and COMMIT round trips.
            # (The DB-API switch, not SQLAlchemy's AUTOCOMMIT isolation level: resetting that
            # on check-in costs every later user of the connection a SET.)
            dbapi = conn.connection.dbapi_connection
            assert dbapi is not None
            dbapi.autocommit = True
            try:
                rows = prepared.run(
                    conn, _INCR_MANY, {"keys": keys, "amount": amount, "expiry": expiry}
                )
            finally:
                if not dbapi.closed:  # a lost connection was closed (invalidated) already
                    dbapi.autocommit = False
            return {row.key: int(row.hits) for row in rows}

    def _row(self, key: str) -> tuple[int, datetime] | None:
        with self.engine.connect() as conn:
            row = conn.execute(_GET, {"key": key}).one_or_none()
        return None if row is None else (int(row.hits), row.expires_at)

    def get(self, key: str) -> int:
        row = self._row(key)
        return 0 if row is None else row[0]

    def get_expiry(self, key: str) -> float:
        row = self._row(key)
        return time.time() if row is None else row[1].astimezone(UTC).timestamp()

    def check(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1 FROM rate_limit_counter LIMIT 1"))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with self.engine.begin() as conn:
            return conn.execute(text("DELETE FROM rate_limit_counter")).rowcount

    def clear(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(text("DELETE FROM rate_limit_counter WHERE key = :key"), {"key": key})

    def forget_expired(self) -> int:
        """Delete counters whose window has passed (they would be reset on their next hit)."""
        with self.engine.begin() as conn:
            sql = "DELETE FROM rate_limit_counter WHERE expires_at <= clock_timestamp()"
            return conn.execute(text(sql)).rowcount


class Budget(enum.Enum):
    """What a request spends from."""

    writes = "writes"
    batches = "batches"
    failed_authentication = "failed_authentication"
    failed_sign_in = "failed_sign_in"


class RateLimitedError(GeogridError):
    """A key or a client address has spent its budget; ``retry_after_s`` says when to retry."""

    code = "rate_limited"

    def __init__(self, message: str | Message, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class RateLimits:
    """The budgets, each a ``limits`` rate ("120/minute") per identity (a key, an address)."""

    def __init__(self, storage: PostgresStorage, rates: dict[Budget, str]) -> None:
        self.storage = storage
        self._limiter = FixedWindowRateLimiter(storage)
        self._items: dict[Budget, RateLimitItem] = {b: parse(rate) for b, rate in rates.items()}

    def spend(self, budget: Budget, *identities: str) -> None:
        """Count one request against each identity; raise when any has nothing left.

        What ``FixedWindowRateLimiter.hit`` does per identity, for all of them in one
        statement (:meth:`PostgresStorage.incr_many`): a write request pays one round trip
        for its budgets, not a transaction per identity.
        """
        item = self._items[budget]
        keys = {identity: item.key_for(budget.value, identity) for identity in identities}
        if isinstance(self._limiter.storage, PostgresStorage):
            try:
                hits = self._limiter.storage.incr_many(list(keys.values()), item.get_expiry())
            except DBAPIError as error:
                if getattr(error.orig, "pgcode", None) not in _ON_STANDBY:
                    raise
                self._on_standby()
            else:
                for identity, key in keys.items():
                    if hits[key] > item.amount:
                        self._refuse(budget, item, identity)
                return
        for identity in identities:
            if not self._ask(True, item, budget.value, identity):
                self._refuse(budget, item, identity)

    def check(self, budget: Budget, *identities: str) -> None:
        """Raise if any identity has already spent its budget (counting nothing)."""
        item = self._items[budget]
        for identity in identities:
            if not self._ask(False, item, budget.value, identity):
                self._refuse(budget, item, identity)

    def _ask(self, count: bool, item: RateLimitItem, *keys: str) -> bool:
        """``limiter.hit`` (``count``) or ``limiter.test``: whether the budget has room."""
        try:
            return (self._limiter.hit if count else self._limiter.test)(item, *keys)
        except DBAPIError as error:
            if getattr(error.orig, "pgcode", None) not in _ON_STANDBY:
                raise
        self._on_standby()
        return (self._limiter.hit if count else self._limiter.test)(item, *keys)

    def _on_standby(self) -> None:
        log.info("the database is a hot standby: rate limits are counted in this process")
        self._limiter = FixedWindowRateLimiter(MemoryStorage())

    def _refuse(self, budget: Budget, item: RateLimitItem, identity: str) -> None:
        reset = self._limiter.get_window_stats(item, budget.value, identity).reset_time
        wait = max(1, math.ceil(reset - time.time()))
        raise RateLimitedError(
            tr(
                "too many requests ({budget}: {rate} for {who}); retry in {seconds} s",
                budget=budget.value,
                rate=str(item),
                who=identity,
                seconds=wait,
            ),
            retry_after_s=wait,
        )


__all__ = ["Budget", "PostgresStorage", "RateLimitedError", "RateLimits"]
