"""Typed dependencies: a pooled connection (through the database gate) and the caller's principal."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import Depends, Request
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from geogrid.access import keys, sessions
from geogrid.access.keys import KeyCache
from geogrid.access.ratelimits import Budget, RateLimits
from geogrid.access.roles import ANONYMOUS, PERMISSION_ZH, Permission, Principal
from geogrid.access.sessions import SignedIn
from geogrid.api.database import Database, Replica, Work
from geogrid.api.errors import speaks_console
from geogrid.api.observability import Metrics
from geogrid.errors import (
    AuthenticationError,
    CsrfError,
    DatabaseBusyError,
    DatabaseUnavailableError,
)
from geogrid.i18n import tr
from geogrid.lookup.snapshot import SnapshotStore
from geogrid.settings import AuthSettings, CaseSettings, PhotoSettings

T = TypeVar("T")


def _connection(kind: Work, pinned: bool = False) -> Any:
    async def connection(request: Request) -> AsyncIterator[Connection]:
        async with contextlib.AsyncExitStack() as held:
            conn = await _on_replica(request, kind, held) if pinned else None
            reading = pinned and conn is None
            if conn is None:
                database: Database = request.app.state.database
                await held.enter_async_context(database.work(kind))
                begin = _read if pinned else _begin
                conn = await anyio.to_thread.run_sync(begin, database.engine)
            try:
                yield conn
            except BaseException:
                with anyio.CancelScope(shield=True):
                    if reading:
                        await anyio.to_thread.run_sync(_close_reading, conn)
                    else:
                        await anyio.to_thread.run_sync(conn.close)  # rolls back
                raise
            if reading:
                _close_reading(conn)  # nothing to commit or roll back: no round trip
            else:
                await anyio.to_thread.run_sync(_commit, conn)

    return Depends(connection, scope="function")


async def read_release(request: Request, work: Callable[[Connection], T]) -> T:
    """``work(conn)`` on a connection for reads of published releases, as ReleaseConnDep gives
    one, with the checkout, the work and the return to the pool in one worker thread.

    For routes whose whole answer is built from the database (the OGC items): one thread hop
    per request instead of two, and the answer is built off the event loop.
    """
    async with contextlib.AsyncExitStack() as held:
        conn = await _on_replica(request, Work.interactive, held)
        if conn is not None:
            return await anyio.to_thread.run_sync(_work_and_commit, conn, work)
        database: Database = request.app.state.database
        await held.enter_async_context(database.work(Work.interactive))
        return await anyio.to_thread.run_sync(_read_and_close, database.engine, work)


def _work_and_commit(conn: Connection, work: Callable[[Connection], T]) -> T:
    try:
        found = work(conn)
    except BaseException:
        conn.close()
        raise
    _commit(conn)
    return found


def _read_and_close(engine: Engine, work: Callable[[Connection], T]) -> T:
    conn = _read(engine)
    try:
        return work(conn)
    finally:
        _close_reading(conn)


#: Query and path parameters by which a release-pinned route names the release(s) it reads
#: (``/v1/releases/{n}/diff/{m}`` names two).
RELEASE_PARAMETERS = ("release", "n", "m")


def needed_release(request: Request) -> int:
    """The release a release-pinned read must not miss: the newest this process knows is
    published (what it has told clients, or is about to), or a newer one the request names."""
    snapshots: SnapshotStore = request.app.state.snapshots
    needed = snapshots.newest or 0
    for name in RELEASE_PARAMETERS:
        value = request.query_params.get(name) or request.path_params.get(name)
        if isinstance(value, str) and value.isdigit() and len(value) <= 9:
            needed = max(needed, int(value))
    return needed


async def _on_replica(
    request: Request, kind: Work, held: contextlib.AsyncExitStack
) -> Connection | None:
    """A connection to the hot standby, its slot kept by ``held``, when it has replayed the
    release the request needs; None to read from the primary (no standby, behind, failing)."""
    replica: Replica | None = request.app.state.replica
    metrics: Metrics = request.app.state.metrics
    if replica is None:
        return None
    release = needed_release(request)
    if not replica.may_serve(release):
        metrics.pinned_read("primary")
        return None
    try:
        async with contextlib.AsyncExitStack() as attempt:
            await attempt.enter_async_context(replica.database.work(kind))
            conn = await anyio.to_thread.run_sync(replica.begin, release)
            if conn is not None:
                held.push_async_exit(attempt.pop_all())
    except DatabaseBusyError:
        raise  # as busy as the primary would be: 503, not more load on the primary
    except (DatabaseUnavailableError, DBAPIError, PoolTimeoutError):
        # The gate noted the failure: pinned reads use the primary until a probe answers.
        conn = None
    metrics.pinned_read("primary" if conn is None else "replica")
    return conn


def _begin(engine: Engine) -> Connection:
    conn = engine.connect()
    conn.begin()
    return conn


def _read(engine: Engine) -> Connection:
    """A connection for reads of published releases: autocommit, no transaction.

    A published release never changes, so its reads need no transaction of their own, and
    without one they skip the BEGIN and COMMIT round trips (two of the four a short read
    would otherwise take).
    """
    conn = engine.connect()
    # psycopg2's autocommit flag is client-side; SQLAlchemy's isolation_level="AUTOCOMMIT"
    # would cost a SET on the way back to the pool, so the flag is set here and cleared in
    # :func:`_close_reading`.
    conn.connection.dbapi_connection.autocommit = True  # type: ignore[union-attr]
    return conn


def _close_reading(conn: Connection) -> None:
    """Back to the pool as it came: autocommit cleared; no transaction, so no ROLLBACK sent.

    A connection invalidated by a failure (a cut or lost connection) is only closed: asking
    it for its DB-API connection would raise instead of the failure the caller is handling.
    """
    if not conn.invalidated:
        dbapi = conn.connection.dbapi_connection
        if dbapi is not None:
            dbapi.autocommit = False
    conn.close()


def _commit(conn: Connection) -> None:
    with conn:
        conn.commit()


#: How every route that reads or writes the database gets its connection: a pooled connection
#: in a transaction committed when the route returns. The dependency ends with the route
#: function, before the answer is sent (``scope="function"``): a 2xx is only sent once the
#: transaction is committed, a route that raises rolls it back, and the connection goes back
#: to the pool as soon as the work is done. Interactive work: a short deadline.
ConnDep = Annotated[Connection, _connection(Work.interactive)]
#: The same for long work (exports, batches): the long deadline.
LongConnDep = Annotated[Connection, _connection(Work.long)]
#: The same, interactive, for reads pinned to published releases, which touch nothing but
#: release data (grids, communities, streets, stations, compounds, coverage, history; never
#: cases, plans or keys): on the hot standby (``GEOGRID_DATABASE_REPLICA_URL``) once it has
#: replayed the release the read needs (:func:`needed_release`), else, and while it fails, on
#: the primary, in autocommit (:func:`_read`).
ReleaseConnDep = Annotated[Connection, _connection(Work.interactive, pinned=True)]


def _engine(kind: Work) -> Any:
    async def engine(request: Request) -> AsyncIterator[Engine]:
        database: Database = request.app.state.database
        async with database.work(kind):
            yield database.engine

    return Depends(engine, scope="function")


#: The engine, for the two writes that manage their own transactions: a case report (it
#: settles a COMMIT whose answer was lost) and publishing a plan (it answers only once this
#: process serves the new release, after the commit). Held like a connection: one slot, and
#: the deadline of the work's class.
EngineDep = Annotated[Engine, _engine(Work.interactive)]
LongEngineDep = Annotated[Engine, _engine(Work.long)]


async def get_database(request: Request) -> Database:
    """The process's gate to the database (for work that is not one connection per route)."""
    database: Database = request.app.state.database
    return database


DatabaseDep = Annotated[Database, Depends(get_database)]


def client_address(request: Request) -> str:
    """The caller's address (behind a proxy: as uvicorn's --forwarded-allow-ips trusts it)."""
    return request.client.host if request.client else "unknown"


def _authenticate(request: Request, token: str) -> Principal:
    """Look the key up; an address that sent too many wrong keys is refused before that."""
    limits: RateLimits | None = request.app.state.rate_limits
    address = f"address:{client_address(request)}"
    if limits is not None:
        limits.check(Budget.failed_authentication, address)
    with request.app.state.engine.connect() as conn:
        try:
            return keys.authenticate(conn, token)
        except AuthenticationError:
            if limits is not None:
                limits.spend(Budget.failed_authentication, address)
            raise


async def get_principal(request: Request) -> Principal:
    """Who is calling: a key's principal (``Authorization: Bearer``), a signed-in user (the
    session cookie), or the anonymous viewer with neither.

    Anonymous requests (the hot path) touch no database and no worker thread; nor does a key
    seen in the last ``GEOGRID_KEY_CACHE_S`` seconds (a revocation clears the cache). While the
    database is unavailable, a key verified within the last ``GEOGRID_KEY_OUTAGE_S`` seconds
    keeps working, so keyed callers keep what answers from memory (locate) during an outage.
    A session is looked up on every request, so a disabled user stops at once; a write
    through one must carry its CSRF token (:func:`signed_in`).
    """
    header = request.headers.get("authorization")
    if header is None:
        found = await signed_in(request)
        if found is None:
            return ANONYMOUS
        principal = found.principal
    else:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError(
                tr('the Authorization header must be "Bearer <key>"'),
            )
        principal = await _verify(request, token)
    request.state.caller = principal.name  # named in the request's log line
    request.state.role = principal.role.name  # in the ETags of answers it sees (api/caching)
    return principal


#: Methods that never change anything: no CSRF token needed.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def signed_in(request: Request) -> SignedIn | None:
    """The live session of the request's cookie (looked up once per request), or None.

    For a write (any method but GET, HEAD, OPTIONS) the request must also come from this
    origin (an ``Origin`` header, when sent, names this host) and carry the session's CSRF
    token in the ``X-CSRF-Token`` header or a ``csrf_token`` form field: else CsrfError (403),
    before the route runs, so nothing changes.
    """
    if hasattr(request.state, "session"):
        found: SignedIn | None = request.state.session
        return found
    token = request.cookies.get(sessions.COOKIE)
    found = None
    if token:
        database: Database = request.app.state.database
        settings: AuthSettings = request.app.state.auth_settings
        # While the database is away a read goes on as a viewer's, so what answers from
        # memory (locate, nearest station) keeps answering a signed-in browser, masked.
        as_viewer = request.method in SAFE_METHODS and not speaks_console(request)
        if not (as_viewer and database.down):
            try:
                found = await database.run(_find_session, request, token, settings)
            except DatabaseUnavailableError:
                if not as_viewer:
                    raise
    request.state.session = found
    if found is not None and request.method not in SAFE_METHODS:
        await _check_csrf(request, token or "")
    return found


def _find_session(request: Request, token: str, settings: AuthSettings) -> SignedIn | None:
    with request.app.state.engine.begin() as conn:
        return sessions.find_session(conn, token, settings)


async def _check_csrf(request: Request, token: str) -> None:
    origin = request.headers.get("origin")
    if origin is not None and not same_origin(request, origin):
        raise CsrfError(tr("a write from another site ({origin}) is refused", origin=origin[:100]))
    sent = request.headers.get(sessions.CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(FORM_TYPES):
        form = await request.form()  # Starlette keeps it: the route's Form fields read it again
        field = form.get(sessions.CSRF_FIELD)
        sent = field if isinstance(field, str) else None
    if not sessions.csrf_matches(token, sent):
        raise CsrfError(
            tr(
                "a write with the session cookie must carry its CSRF token "
                "(the X-CSRF-Token header or the csrf_token field)"
            )
        )


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def same_origin(request: Request, origin: str) -> bool:
    """Whether ``origin`` (scheme://host[:port]) is the origin this request was sent to."""
    host = request.headers.get("host", "")
    return origin.partition("://")[2] == host


async def _verify(request: Request, token: str) -> Principal:
    cache: KeyCache = request.app.state.key_cache
    known = cache.get(token)
    if known is not None and known.fresh:
        return known.principal
    database: Database = request.app.state.database
    if known is not None and database.down:
        return known.principal
    try:
        principal = await database.run(_authenticate, request, token)
    except DatabaseUnavailableError:
        if known is None:
            raise
        # The database is away: a key verified within GEOGRID_KEY_OUTAGE_S keeps working.
        return known.principal
    cache.put(token, principal)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def get_snapshots(request: Request) -> SnapshotStore:
    """The process's snapshots of boundary releases."""
    store: SnapshotStore = request.app.state.snapshots
    return store


SnapshotsDep = Annotated[SnapshotStore, Depends(get_snapshots)]


async def get_case_settings(request: Request) -> CaseSettings:
    """How cases are routed (near-boundary and outside-district distances)."""
    settings: CaseSettings = request.app.state.case_settings
    return settings


CaseSettingsDep = Annotated[CaseSettings, Depends(get_case_settings)]


async def get_photo_settings(request: Request) -> PhotoSettings:
    """How large a case photo may be (bytes and pixels)."""
    settings: PhotoSettings = request.app.state.photo_settings
    return settings


PhotoSettingsDep = Annotated[PhotoSettings, Depends(get_photo_settings)]


#: The attribute by which a dependency made by :func:`limited` names its budget.
BUDGET = "budget"


def limited(budget: Budget) -> Any:
    """A dependency that spends one request from ``budget`` of the caller's key and address
    (429 with Retry-After when either has nothing left)."""

    async def spend(request: Request, principal: PrincipalDep) -> None:
        limits: RateLimits | None = request.app.state.rate_limits
        if limits is None:
            return
        who = [f"address:{client_address(request)}"]
        if principal.name is not None:
            who.insert(0, f"key:{principal.name}")
        database: Database = request.app.state.database
        await database.run(limits.spend, budget, *who)

    setattr(spend, BUDGET, budget)  # read by api/openapi.py: this route answers 429
    return Depends(spend)


#: The attribute by which a dependency made by :func:`require` names its permission.
REQUIRED_PERMISSION = "required_permission"


def require(permission: Permission, *alternatives: Permission) -> Any:
    """A dependency that refuses callers without ``permission`` or one of ``alternatives``
    (401 when anonymous, else 403)."""
    needed = (permission, *alternatives)

    async def check(principal: PrincipalDep) -> Principal:
        if principal.kind == "anonymous" and not any(principal.may(p) for p in needed):
            raise AuthenticationError(
                tr(
                    "this needs the {name} permission: sign in, or send an API key "
                    "(Authorization: Bearer <key>)",
                    name=" or ".join(p.value for p in needed),
                    name_zh="或".join(PERMISSION_ZH[p] for p in needed),
                ),
            )
        principal.require(permission, *alternatives)
        return principal

    setattr(check, REQUIRED_PERMISSION, permission)  # read by api/openapi.py: 401/403
    return Depends(check)
