"""Typed dependencies: a pooled connection and the caller's principal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Connection, Engine

from geogrid.access import keys
from geogrid.access.keys import KeyCache
from geogrid.access.roles import ANONYMOUS, ROLE_ZH, Principal, Role
from geogrid.errors import AuthenticationError
from geogrid.i18n import tr
from geogrid.lookup.snapshot import SnapshotStore
from geogrid.settings import CaseSettings


def get_conn(request: Request) -> Iterator[Connection]:
    """A connection from the app's pool, in a transaction committed when the route returns.

    The dependency ends with the route function, before the answer is sent (``scope=
    "function"``): a 2xx is only sent once the transaction is committed, a route that raises
    rolls it back, and the connection goes back to the pool as soon as the work is done.
    """
    with request.app.state.engine.begin() as conn:
        yield conn


#: How every route that reads or writes the database gets its connection.
ConnDep = Annotated[Connection, Depends(get_conn, scope="function")]


async def get_engine(request: Request) -> Engine:
    """The app's engine, for the two writes that manage their own transactions: a case report
    (it settles a COMMIT whose answer was lost) and publishing a plan (it answers only once
    this process serves the new release, after the commit)."""
    engine: Engine = request.app.state.engine
    return engine


EngineDep = Annotated[Engine, Depends(get_engine)]


def _authenticate(request: Request, token: str) -> Principal:
    with request.app.state.engine.connect() as conn:
        return keys.authenticate(conn, token)


async def get_principal(request: Request) -> Principal:
    """Who is calling: the key's principal, or the anonymous viewer with no header.

    Anonymous requests (the hot path) touch no database and no worker thread; nor does a key
    seen in the last ``GEOGRID_KEY_CACHE_S`` seconds (a revocation clears the cache).
    """
    header = request.headers.get("authorization")
    if header is None:
        return ANONYMOUS
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError(
            tr('the Authorization header must be "Bearer <key>"'),
        )
    cache: KeyCache = request.app.state.key_cache
    principal = cache.get(token)
    if principal is None:
        principal = await run_in_threadpool(_authenticate, request, token)
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


#: The attribute by which a dependency made by :func:`require` names its role.
REQUIRED_ROLE = "required_role"


def require(role: Role) -> Any:
    """A dependency that refuses callers below ``role`` (401 without a key, else 403)."""

    async def check(principal: PrincipalDep) -> Principal:
        if principal.name is None and role > Role.viewer:
            raise AuthenticationError(
                tr(
                    "this needs an API key with the {name} role",
                    name=role.name,
                    role_zh=ROLE_ZH[role],
                ),
            )
        principal.require(role)
        return principal

    setattr(check, REQUIRED_ROLE, role)  # read by api/openapi.py: this route answers 401/403
    return Depends(check)
