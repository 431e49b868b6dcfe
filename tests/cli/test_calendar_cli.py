"""`geogrid calendar load` goes through the same load as the console's calendar page: all or
nothing, every bad line named, and recorded in the audit log."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from geogrid.cli.main import app
from geogrid.cli.users import ACTOR


def test_calendar_load_is_all_or_nothing_and_audited(
    fresh_demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEOGRID_DATABASE_URL", fresh_demo_url)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "date,kind,name\n2030-01-01,holiday,元旦\n2030-01-07,workday,元旦\n", encoding="utf-8"
    )
    refused = CliRunner().invoke(app, ["calendar", "load", str(bad)])
    assert refused.exit_code == 1
    assert "line 3" in refused.output and "Saturday or Sunday" in refused.output
    good = tmp_path / "2030.csv"
    good.write_text(
        "date,kind,name\n2030-01-01,holiday,元旦\n2030-02-02,workday,春节\n", encoding="utf-8"
    )
    loaded = CliRunner().invoke(app, ["calendar", "load", str(good), "--source", "2030 通知"])
    assert loaded.exit_code == 0, loaded.output
    assert "2 days of 1 year(s) loaded (2030)" in loaded.output
    engine = create_engine(fresh_demo_url)
    with engine.connect() as conn:
        events = conn.execute(
            text("SELECT actor, details FROM audit_event WHERE event = 'calendar_loaded'")
        ).all()
    engine.dispose()
    assert [(e.actor, e.details["years"], e.details["source"]) for e in events] == [
        (ACTOR, [2030], "2030 通知")
    ]
