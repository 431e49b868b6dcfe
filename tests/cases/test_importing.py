"""`geogrid cases import`: CSV and XLSX, English or the export's Chinese headers, all or
nothing unless --skip-bad, and a file imported twice creates its cases once."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from geogrid.cases.importing import import_cases, read_rows
from geogrid.cli.main import app
from geogrid.errors import LoadError
from geogrid.geo.datum import point_from_storage
from geogrid.lookup import snapshot
from geogrid.settings import CaseSettings


@pytest.fixture
def place(fresh_demo_url: str) -> tuple[str, float, float, str]:
    engine = create_engine(fresh_demo_url)
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT ST_X(c.point) x, ST_Y(c.point) y, gg.grid_code FROM compound c "
                "JOIN grid_geometry gg ON gg.valid_to_release IS NULL AND ST_Covers(gg.geom, "
                "c.point) ORDER BY c.id LIMIT 1"
            )
        ).one()
    engine.dispose()
    return fresh_demo_url, row.x, row.y, row.grid_code.strip()


def _cases(url: str) -> list[tuple[str, str, str]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT description, grid_code, channel FROM civic_case ORDER BY id")
        ).all()
    engine.dispose()
    return [(r.description, r.grid_code.strip(), r.channel) for r in rows]


def _run(url: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    monkeypatch.setenv("GEOGRID_DATABASE_URL", url)
    result = CliRunner().invoke(app, ["cases", "import", *args])
    try:
        errors = result.stderr
    except ValueError:  # stderr mixed into output
        errors = ""
    return f"{result.exit_code}\n{result.output}{errors}"


def test_csv_with_english_headers_imports_once(
    place: tuple[str, float, float, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, x, y, grid = place
    glon, glat = point_from_storage(x, y, "gcj02")
    data = tmp_path / "hotline.csv"
    data.write_text(
        "external_id,category,description,lon,lat,crs,channel,reporter_phone\n"
        f"H-1,E0102,垃圾一,{x},{y},cgcs2000,hotline,13800000001\n"
        f"H-2,C0105,路灯不亮,{glon},{glat},gcj02,12345热线,\n",
        encoding="utf-8-sig",
    )
    out = _run(url, monkeypatch, str(data))
    assert out.startswith("0") and "2 cases imported" in out, out
    assert _cases(url) == [("垃圾一", grid, "hotline"), ("路灯不亮", grid, "hotline")]
    again = _run(url, monkeypatch, str(data))
    assert "0 cases imported, 2 already imported" in again, again
    assert len(_cases(url)) == 2


def test_xlsx_with_chinese_headers_all_or_nothing(
    place: tuple[str, float, float, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, x, y, _ = place
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["类别编码", "描述", "经度", "纬度", "地址", "报告人"])
    sheet.append(["E0503", "占道停车", x, y, None, "赵六"])
    sheet.append(["E0503", "远在外地", x + 1.0, y, None, None])
    sheet.append(["E9999", "未知类别", x, y, None, None])
    sheet.append(["C0105", "小区路灯", None, None, "海棠小区", None])
    path = tmp_path / "cases.xlsx"
    book.save(path)
    refused = _run(url, monkeypatch, str(path), "--crs", "cgcs2000")
    assert refused.startswith("1"), refused
    assert _cases(url) == []  # one bad row: nothing imported
    engine = create_engine(url)
    with pytest.raises(LoadError) as raised, engine.begin() as conn:
        release = conn.execute(text("SELECT max(id) FROM boundary_release")).scalar()
        import_cases(
            conn,
            snapshot.build(conn, release),
            read_rows(path),
            "t",
            CaseSettings(),
            crs="cgcs2000",
        )
    engine.dispose()
    assert [d["line"] for d in raised.value.details] == [3, 4]
    assert "unroutable" not in str(raised.value) and "outside" in str(raised.value)
    assert "E9999" in str(raised.value)
    skipped = _run(url, monkeypatch, str(path), "--crs", "cgcs2000", "--skip-bad")
    assert "2 cases imported" in skipped and "2 rows skipped" in skipped, skipped
    assert [c[0] for c in _cases(url)] == ["占道停车", "小区路灯"]


def test_map_cases_writes_an_offline_page(
    place: tuple[str, float, float, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, x, y, _ = place
    data = tmp_path / "cases.csv"
    data.write_text(
        "category,description,lon,lat,crs,reporter_phone\n"
        f"E0102,垃圾,{x},{y},cgcs2000,13912345678\n",
        encoding="utf-8",
    )
    assert _run(url, monkeypatch, str(data)).startswith("0")
    out = tmp_path / "cases.html"
    result = CliRunner().invoke(app, ["map", "cases", "--out", str(out), "--open"])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert "markercluster" in page.lower() and "暴露垃圾" in page
    assert "13912345678" not in page and "://unpkg" not in page and "cdn.jsdelivr" not in page
