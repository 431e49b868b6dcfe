"""Server-side prepared statements for the queries a process runs again and again.

PostgreSQL plans every statement it is sent. For geogrid's feature reads (a grid by code, a
page of grids with a filter: several joins over the release tables) planning costs several
times what running takes (0.2 ms against 0.03 ms for one grid). asyncpg, which TiPG and
pg_featureserv's peers use, prepares every statement and so plans it once per connection;
psycopg2 has no prepared statements of its own. This module gives it them, the way psycopg 3
does (``prepare_threshold``):

- a statement is compiled once per SQLAlchemy cache key (the key SQLAlchemy's own compiled
  cache uses: the statement's structure, not its values) and its ``%(name)s`` placeholders
  are numbered ``$1, $2, ...``;
- the second time a process runs the same statement, each connection that runs it sends
  ``PREPARE`` once; from then on it sends only ``EXECUTE name(values)`` (one-off statements
  are never prepared, so they cost no extra round trip);
- a connection keeps at most :data:`PER_CONNECTION` prepared statements (the oldest is
  deallocated); they live as long as its session, so a reconnected connection starts empty
  (SQLAlchemy's per-connection ``info`` is cleared with it).

Values are still bound parameters: ``EXECUTE`` receives them through psycopg2's parameter
adaptation, never pasted. Behind a pooler in transaction mode (PgBouncer before 1.21) prepared
statements cannot work; set ``GEOGRID_PREPARED_STATEMENTS=false`` there (an engine made with
``prepared_statements=False`` by :func:`geogrid.db.make_engine` runs every statement plainly).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row
from sqlalchemy.sql import Select, TextClause
from sqlalchemy.sql.compiler import Compiled

#: Prepared statements kept per connection
PER_CONNECTION = 64
#: Statements whose compiled form a process keeps
PER_PROCESS = 512
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_INFO = "geogrid_prepared"


@dataclass(frozen=True)
class _Statement:
    name: str
    compiled: Compiled
    #: the compiled parameter names in $-number order
    order: tuple[str, ...]
    prepare: str
    execute: str


_compiled: OrderedDict[Any, _Statement] = OrderedDict()
_seen: OrderedDict[Any, int] = OrderedDict()
_lock = threading.Lock()


#: The execution option that turns preparing on or off for an engine or connection
OPTION = "geogrid_prepared"


def _numbered(compiled: Compiled) -> _Statement:
    order: list[str] = []

    def number(found: re.Match[str]) -> str:
        if found[1] not in order:
            order.append(found[1])
        return f"${order.index(found[1]) + 1}"

    # A literal % stays escaped as %%: the driver formats the PREPARE too (with no values,
    # "%%" becomes "%"; a lone "%" would be read as a placeholder).
    text = _PLACEHOLDER.sub(number, str(compiled))
    name = "geogrid_" + hashlib.blake2b(text.encode(), digest_size=10).hexdigest()
    placeholders = ", ".join("%s" for _ in order)
    return _Statement(
        name,
        compiled,
        tuple(order),
        f"PREPARE {name} AS {text}",
        f"EXECUTE {name}({placeholders})" if order else f"EXECUTE {name}",
    )


def _statement(
    conn: Connection, statement: Select[Any] | TextClause, cache_key: Any
) -> _Statement | None:
    """The compiled statement for ``cache_key``, or None the first time the process sees it."""
    key = cache_key.key
    with _lock:
        found = _compiled.get(key)
        if found is not None:
            _compiled.move_to_end(key)
            return found
        count = _seen.pop(key, 0) + 1
        _seen[key] = count
        while len(_seen) > PER_PROCESS:
            _seen.popitem(last=False)
        if count < 2:
            return None
    made = _numbered(statement.compile(dialect=conn.dialect, cache_key=cache_key))
    with _lock:
        _compiled[key] = made
        while len(_compiled) > PER_PROCESS:
            _compiled.popitem(last=False)
    return made


def run(
    conn: Connection,
    statement: Select[Any] | TextClause,
    parameters: Mapping[str, Any] | None = None,
) -> Sequence[Row[Any]]:
    """Every row of ``statement`` with ``parameters``, prepared once it runs often.

    Exactly what ``conn.execute(statement, parameters).all()`` returns, errors included (they
    go through SQLAlchemy's handling, so a lost connection is invalidated as usual).
    """
    enabled = conn.get_execution_options().get(OPTION, True)
    cache_key = statement._generate_cache_key() if enabled else None
    found = None if cache_key is None else _statement(conn, statement, cache_key)
    if found is None or cache_key is None or conn.dialect.name != "postgresql":
        return conn.execute(statement, dict(parameters or {})).all()
    values = found.compiled.construct_params(
        dict(parameters or {}), extracted_parameters=cache_key.bindparams
    )
    assert values is not None
    prepared: OrderedDict[str, bool] = conn.connection.info.setdefault(_INFO, OrderedDict())
    if found.name in prepared:
        prepared.move_to_end(found.name)
    else:
        while len(prepared) >= PER_CONNECTION:
            oldest, _ = prepared.popitem(last=False)
            conn.exec_driver_sql(f"DEALLOCATE {oldest}")
        conn.exec_driver_sql(found.prepare)
        prepared[found.name] = True
    return conn.exec_driver_sql(found.execute, tuple(values[n] for n in found.order)).all()
