"""``geogrid organisations``: load a register, read the summary (now and as it was), and a bad
file changes nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text

from tests.cli.test_main import run


def test_load_summary_and_a_refused_file(fresh_demo_url: str, tmp_path: Path) -> None:
    staff = tmp_path / "staff.csv"
    staff.write_text(
        "网格编码,职务,姓名,联系电话\n340102001001001,网格长,张三,13812345678\n"
        "340102001001001,专职网格员,李四,0551-62345678\n",
        encoding="utf-8-sig",
    )
    code, out, err = run(fresh_demo_url, "organisations", "load", "staff", str(staff))
    assert code == 0, err
    assert "2 rows of staff loaded" in out
    code, out, err = run(fresh_demo_url, "organisations", "summary", "--street", "340102001")
    assert code == 0, err
    assert "grid_leaders" in out and "grids_without_branch" in out
    code, out, err = run(fresh_demo_url, "organisations", "summary", "--at", "2000-01-01")
    assert code == 0, err
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "网格编码,职务,姓名,联系电话\n340102001001001,网格长,王五,13800000000\n"
        "340102001001999,网格长,赵六,138000\n",
        encoding="utf-8",
    )
    code, out, err = run(fresh_demo_url, "organisations", "load", "staff", str(bad))
    assert code == 1 and "line 3" in out + err and "340102001001999" in out + err
    code, out, err = run(fresh_demo_url, "organisations", "load", "teams", str(bad))
    assert code == 1 and "volunteers" in out + err
    engine = create_engine(fresh_demo_url)
    with engine.connect() as conn:
        names = conn.execute(
            text("SELECT name FROM org_grid_staff WHERE valid_to IS NULL ORDER BY name")
        ).scalars()
        assert list(names) == ["张三", "李四"]
    engine.dispose()
