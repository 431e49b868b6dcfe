"""``geogrid departments`` and ``geogrid responsibility``: load, list, and a bad file changes
nothing; a handler's key names its department."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from geogrid.access import keys
from geogrid.access.roles import Role
from geogrid.errors import InvalidInputError, NotFoundError
from tests.cli.test_main import run


def test_load_and_list(fresh_demo_url: str, tmp_path: Path) -> None:
    departments = tmp_path / "departments.csv"
    departments.write_text("部门编码,部门名称,部门类别,联系方式,启用\nHB,环保所,其他,,是\n")
    code, out, err = run(fresh_demo_url, "departments", "load", str(departments))
    assert code == 0, err
    assert "1 departments loaded" in out
    code, out, _ = run(fresh_demo_url, "departments", "list")
    assert code == 0 and "HB" in out and "环保所" in out and "RQ" in out
    rows = tmp_path / "responsibility.csv"
    rows.write_text("案件类别,区域编码,责任部门编码\nE,340102,HB\nE0403,340102006,RQ\n")
    code, out, err = run(fresh_demo_url, "responsibility", "load", str(rows))
    assert code == 0, err
    code, out, _ = run(fresh_demo_url, "responsibility", "list", "--department", "RQ")
    assert code == 0 and "340102006" in out and "street" in out and "HB" not in out
    bad = tmp_path / "bad.csv"
    bad.write_text("案件类别,区域编码,责任部门编码\nE,340102,HB\nX1,340102,HB\n")
    code, out, err = run(fresh_demo_url, "responsibility", "load", str(bad))
    assert code == 1 and "line 3" in out + err and "X1" in out + err
    engine = create_engine(fresh_demo_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM responsibility")).scalar_one() == 2
    engine.dispose()


def test_a_handler_key_needs_a_department(fresh_demo_url: str) -> None:
    engine = create_engine(fresh_demo_url)
    with engine.begin() as conn:
        with pytest.raises(InvalidInputError, match="department"):
            keys.create_key(conn, "h1", Role.handler)
        with pytest.raises(NotFoundError, match="NOPE"):
            keys.create_key(conn, "h2", Role.handler, department="NOPE")
        created, _ = keys.create_key(conn, "h3", Role.handler, department="RQ")
        assert created.department == "RQ"
    engine.dispose()
    code, _, err = run(
        fresh_demo_url, "keys", "create", "--role", "handler", "--name", "h4", "--department", "SW"
    )
    assert code == 0, err
    engine = create_engine(fresh_demo_url)
    with engine.connect() as conn:
        found = next(k for k in keys.list_keys(conn) if k.name == "h4")
    engine.dispose()
    assert found.department == "SW"
