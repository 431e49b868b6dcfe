"""Prepared statements (geogrid/db/prepared.py): the same rows, planned once, values bound."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, Select, bindparam, column, select, table

from geogrid.db import prepared
from geogrid.db.engine import make_engine

GRID = table("grid", column("code"), column("name"), column("kind"))


def _by_kind(kind: str) -> Select[Any]:
    return select(GRID.c.code, GRID.c.name).where(GRID.c.kind == kind).order_by(GRID.c.code)


@pytest.fixture
def conn(demo_engine: Engine) -> Iterator[Connection]:
    with demo_engine.connect() as connection:
        yield connection


def _prepared_here(conn: Connection) -> set[str]:
    return {r[0] for r in conn.exec_driver_sql("SELECT name FROM pg_prepared_statements")}


def test_the_second_run_prepares_and_every_run_gives_the_same_rows(conn: Connection) -> None:
    before = _prepared_here(conn)
    plain = conn.execute(_by_kind("dedicated")).all()
    first = prepared.run(conn, _by_kind("dedicated"))
    assert _prepared_here(conn) == before  # a one-off statement costs no PREPARE
    second = prepared.run(conn, _by_kind("dedicated"))
    third = prepared.run(conn, _by_kind("resident"))  # same statement, another value
    assert len(_prepared_here(conn) - before) == 1
    assert [tuple(r) for r in first] == [tuple(r) for r in second] == [tuple(r) for r in plain]
    assert len(first) == 76 and len(third) == 520
    assert second[0].code == plain[0].code  # rows keep their column names


def test_values_stay_values(conn: Connection, demo_engine: Engine) -> None:
    statement = select(GRID.c.code).where(GRID.c.name == bindparam("name"))
    for _ in range(3):
        rows = prepared.run(conn, statement, {"name": "x'; DROP TABLE grid; --"})
        assert rows == []
    assert len(prepared.run(conn, select(GRID.c.code))) == 596


def test_a_connection_keeps_a_bounded_number(
    conn: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prepared, "PER_CONNECTION", 2)
    before = _prepared_here(conn)
    for limit in (1, 2, 3, 4):
        statement = select(GRID.c.code).limit(limit).order_by(GRID.c.code).offset(limit * 0)
        statement = statement.where(GRID.c.code > "0" * limit)  # a distinct statement each
        for _ in range(2):
            prepared.run(conn, statement)
    assert len(_prepared_here(conn) - before) <= 2


def test_it_can_be_turned_off(demo_url: str) -> None:
    engine = make_engine(demo_url, pool_size=1, prepared_statements=False)
    conn = engine.connect()
    before = _prepared_here(conn)
    statement = select(GRID.c.code).where(GRID.c.kind == "dedicated").limit(7)
    for _ in range(3):
        assert len(prepared.run(conn, statement)) == 7
    assert _prepared_here(conn) == before
    conn.close()
    engine.dispose()


def test_a_new_session_prepares_again(demo_engine: Engine) -> None:
    statement = select(GRID.c.code).where(GRID.c.kind == "resident").limit(3)
    with demo_engine.connect() as conn:
        for _ in range(2):
            prepared.run(conn, statement)
        conn.invalidate()  # the session ends; its prepared statements with it
    with demo_engine.connect() as conn:
        assert len(prepared.run(conn, statement)) == 3
