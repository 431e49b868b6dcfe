"""`geogrid plan ...` against a private demo database: the same plans as /v1/plans."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from typer.testing import CliRunner

from geogrid.cli.main import app
from tests.helpers import count, fingerprint
from tests.plans.test_ops import drawing_file, drawn_grids
from tests.plans.test_plans import neighbours, transfer


@pytest.fixture
def url(fresh_demo_url: str) -> str:
    return fresh_demo_url


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    engine = create_engine(url)
    yield engine
    engine.dispose()


def run(url: str, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app, list(args), input=stdin, env={"GEOGRID_DATABASE_URL": url, "COLUMNS": "250"}
    )
    return result.exit_code, result.stdout, result.stderr


def create(url: str, comment: str = "move a strip") -> int:
    code, out, err = run(url, "plan", "create", "--comment", comment, "--as", "planner-cli")
    assert code == 0, err
    found = re.search(r"plan (\d+) created on base release 1", out)
    assert found, out
    return int(found.group(1))


def test_create_edit_preview_publish(url: str, engine: Engine, tmp_path: Path) -> None:
    a, b, strip = neighbours(engine)
    plan = create(url)
    code, out, _ = run(url, "plan", "list")
    assert code == 0 and "move a strip" in out
    edit = tmp_path / "edit.json"
    edit.write_text(json.dumps(transfer(a, b, strip)), encoding="utf-8")
    code, out, err = run(url, "plan", "edit", str(plan), "--json", str(edit), "--as", "p-1")
    assert code == 0, err
    edit_id = int(re.search(r"edit (\d+) added", out).group(1))  # type: ignore[union-attr]
    code, out, _ = run(url, "plan", "show", str(plan))
    assert code == 0 and "transfer" in out and a in out and b in out

    code, out, err = run(url, "plan", "preview", str(plan))
    assert code == 0, err
    assert a in out and b in out and "every invariant holds" in out
    code, out, _ = run(url, "plan", "preview", str(plan), "--json")
    shown = json.loads(out)
    assert code == 0 and shown["valid"] is True and shown["edits"] == 1
    assert {a, b} <= {g["code"] for g in shown["grids"]}

    code, out, err = run(url, "plan", "publish", str(plan), "--as", "p-1")
    assert code == 0, err
    assert "published as boundary release 2" in out
    code, out, _ = run(url, "validate")
    assert code == 0
    assert count(engine, "SELECT count(*) FROM boundary_release") == 2
    assert count(engine, f"SELECT count(*) FROM plan_edit WHERE id = {edit_id}") == 1
    assert count(engine, "SELECT count(*) FROM audit_log WHERE actor = 'p-1'") == 2
    # A published plan no longer changes, and is no longer listed.
    code, _, err = run(url, "plan", "discard", str(plan))
    assert code == 1 and "published" in err
    assert "no open plans" in run(url, "plan", "list")[1]


def test_edit_from_stdin_undo_and_discard(url: str, engine: Engine) -> None:
    a, b, strip = neighbours(engine)
    plan = create(url, "try")
    code, out, err = run(
        url, "plan", "edit", str(plan), "--json", "-", stdin=json.dumps(transfer(a, b, strip))
    )
    assert code == 0, err
    edit_id = re.search(r"edit (\d+) added", out).group(1)  # type: ignore[union-attr]
    assert run(url, "plan", "undo", str(plan), edit_id)[0] == 0
    assert json.loads(run(url, "plan", "preview", str(plan), "--json")[1])["edits"] == 0
    assert run(url, "plan", "discard", str(plan))[0] == 0
    assert (
        count(engine, f"SELECT count(*) FROM plan WHERE id = {plan} AND status = 'discarded'") == 1
    )


def test_a_bad_edit_exits_1_naming_the_rule_and_changes_nothing(url: str, engine: Engine) -> None:
    a, b, strip = neighbours(engine, same_community=False)
    plan = create(url, "bad")
    before = fingerprint(engine)
    code, _, err = run(
        url, "plan", "edit", str(plan), "--json", "-", stdin=json.dumps(transfer(a, b, strip))
    )
    assert code == 1
    assert "different_community" in err and "violation" in err
    assert fingerprint(engine) == before
    assert count(engine, "SELECT count(*) FROM plan_edit") == 0


@pytest.mark.parametrize(
    "args, named",
    [
        (["plan", "show", "99"], "plan 99 does not exist"),
        (["plan", "publish", "99"], "plan 99 does not exist"),
        (["plan", "edit", "1", "--json", "/nonexistent/edit.json"], "cannot read"),
        (["plan", "edit", "1"], "--json FILE"),
        (["plan", "edit", "1", "--file", "/nonexistent/drawing.gpkg"], "no such file"),
    ],
)
def test_errors_are_one_line(url: str, args: list[str], named: str) -> None:
    code, _, err = run(url, *args)
    assert code == 1 and named in err


def test_replace_with_a_drawing_file(url: str, engine: Engine, tmp_path: Path) -> None:
    a, b, features = drawn_grids(engine)
    path = drawing_file(tmp_path / "drawing.gpkg", features, "gcj02", 4326)
    plan = create(url, "redraw")
    code, _, err = run(url, "plan", "edit", str(plan), "--file", str(path), "--crs", "gcj02")
    assert code == 1 and '"grids"' in err  # which grids the drawing replaces is required
    code, out, err = run(
        url,
        "plan",
        "edit",
        str(plan),
        "--file",
        str(path),
        "--crs",
        "gcj02",
        "--grids",
        f"{a},{b}",
        "--comment",
        "从文件重画",
        "--as",
        "p-1",
    )
    assert code == 0, err
    code, out, _ = run(url, "plan", "show", str(plan))
    assert code == 0 and "replace" in out and "从文件重画" in out
    code, out, err = run(url, "plan", "publish", str(plan))
    assert code == 0 and "published as boundary release 2" in out, err
    assert run(url, "validate")[0] == 0
