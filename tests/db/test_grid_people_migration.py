"""Migration 0022 moves a grid's free-text people into the registers, only into an empty
register, and its downgrade puts them back (real PostGIS, the demo database copied)."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, text

from geogrid import db

REVISION = "0022"


def _before(url: str) -> str:
    config = db.alembic_config(url)
    found = ScriptDirectory.from_config(config).get_revision(REVISION).down_revision
    assert isinstance(found, str)
    return found


def _people(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT * FROM grid_people ORDER BY 1"))]


def test_the_people_move_into_empty_registers_and_back(server: Any, demo_template: str) -> None:
    url = server.database("people_migration", template=demo_template)
    engine = create_engine(url)
    people = _people(engine)
    assert sum(1 for p in people if p[3] is not None) == 474  # branches
    command.downgrade(db.alembic_config(url), _before(url))
    with engine.begin() as conn:
        kept = conn.execute(
            text(
                "SELECT count(leader_name), count(party_branch_name), "
                "count(party_secretary_phone) FROM grid"
            )
        ).one()
        assert tuple(kept) == (596, 474, 474)  # the downgrade put the people on the grids
        conn.execute(text("TRUNCATE org_grid_staff, org_party_branch"))
        # a phone the registers refuse stays behind
        conn.execute(text("UPDATE grid SET leader_phone = '12345' WHERE code = '340102001001001'"))
    db.migrate(url)
    moved = _people(engine)
    assert [p for p in moved if p[0] != "340102001001001"] == [
        p for p in people if p[0] != "340102001001001"
    ]
    assert next(p for p in moved if p[0] == "340102001001001")[1:3] == (None, None)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM org_grid_staff")).scalar_one() == 595
        columns = conn.execute(
            text(
                "SELECT count(*) FROM information_schema.columns "
                "WHERE table_name = 'grid' AND column_name LIKE '%leader%'"
            )
        ).scalar_one()
        assert columns == 0
    engine.dispose()


def test_a_loaded_register_is_not_mixed_with_free_text(server: Any, demo_template: str) -> None:
    url = server.database("people_kept", template=demo_template)
    engine = create_engine(url)
    people = _people(engine)
    command.downgrade(db.alembic_config(url), _before(url))
    with engine.begin() as conn:
        # free text differs from the register, which holds rows: the register wins
        conn.execute(text("UPDATE grid SET leader_name = '旧文本', party_branch_name = '旧支部'"))
    db.migrate(url)
    assert _people(engine) == people
    engine.dispose()
