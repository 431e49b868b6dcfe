"""An export re-imports as the same cases: CSV and XLSX, through the CLI and the console's
import route (real server), into the database it came from and into another one.

The bug reports this answers: importing geogrid's own XLSX export failed with "Idempotency-Key
import:3 was used for case 9 with a different report" (the export's case number was taken for
an external id), and a CSV round trip kept the apostrophe that guards formula-like text.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import openpyxl
import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from geogrid.access import keys, users
from geogrid.access.roles import Role
from geogrid.api.schemas.cases import CaseImportAnswer
from geogrid.cases.export import HEADERS
from geogrid.cases.records import create_case
from geogrid.cases.report import CaseReport
from geogrid.cli.main import app
from geogrid.geo.datum import point_from_storage
from geogrid.io.spreadsheets import cell_text, text_cell
from geogrid.lookup import snapshot
from geogrid.settings import AuthSettings, CaseSettings
from tests.conftest import start_api

if TYPE_CHECKING:
    from tests.conftest import TestServer

#: What a case is, as an import must reproduce it (its id and times aside).
SAME = (
    "SELECT category, description, channel, reporter_name, reporter_phone, address, photos, "
    "round(ST_X(location)::numeric, 7) x, round(ST_Y(location)::numeric, 7) y, grid_code "
    "FROM civic_case ORDER BY created_at, id"
)
FORMULA = "=1+1 井盖缺失"  # a spreadsheet would run it: the CSV export guards it with '


def _cases(url: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(SAME))]
    engine.dispose()
    return rows


def _cli(url: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    monkeypatch.setenv("GEOGRID_DATABASE_URL", url)
    result = CliRunner().invoke(app, list(args))
    return f"{result.exit_code}\n{result.output}"


@pytest.fixture
def origin(fresh_demo_url: str) -> str:
    """A demo copy with three cases: a GCJ-02 report with photos and formula-like text, one
    imported from a hotline file (external id H-7), and one with a guarded phone number."""
    engine = create_engine(fresh_demo_url)
    with engine.begin() as conn:
        x, y = conn.execute(
            text("SELECT ST_X(point), ST_Y(point) FROM compound ORDER BY id LIMIT 1")
        ).one()
        release = conn.execute(text("SELECT max(id) FROM boundary_release")).scalar()
        snap = snapshot.build(conn, release)
        glon, glat = point_from_storage(x, y, "gcj02")
        reports = [
            (
                {
                    "category": "E0102",
                    "description": FORMULA,
                    "lon": glon,
                    "lat": glat,
                    "crs": "gcj02",
                    "channel": "hotline",
                    "reporter": {"name": "张三", "phone": "13812340000"},
                    "photos": ["https://example.org/p/1.jpg", "https://example.org/p/2.jpg"],
                },
                None,
            ),
            (
                {
                    "category": "C0105",
                    "description": "路灯不亮",
                    "lon": x + 0.001,
                    "lat": y,
                    "crs": "cgcs2000",
                    "channel": "app",
                },
                "import:H-7",
            ),
            (
                {
                    "category": "E0503",
                    "description": "'引号开头的描述",
                    "lon": x,
                    "lat": y + 0.001,
                    "crs": "wgs84",
                    "reporter": {"phone": "+86 138 1234 0001"},
                },
                None,
            ),
        ]
        for body, key in reports:
            create_case(conn, snap, CaseReport.from_mapping(body), "import", CaseSettings(), key)
    engine.dispose()
    return fresh_demo_url


@pytest.fixture
def target(server: TestServer, demo_template: str) -> str:
    """Another demo copy whose hotline import already used external ids 1 to 3, as the
    bug report's database had (its case 9 held import:3)."""
    url = server.database(f"rt{secrets.token_hex(3)}", template=demo_template)
    engine = create_engine(url)
    with engine.begin() as conn:
        x, y = conn.execute(
            text("SELECT ST_X(point), ST_Y(point) FROM compound ORDER BY id DESC LIMIT 1")
        ).one()
        release = conn.execute(text("SELECT max(id) FROM boundary_release")).scalar()
        snap = snapshot.build(conn, release)
        for n in (1, 2, 3):
            report = CaseReport.from_mapping(
                {"category": "E0102", "description": f"热线{n}", "lon": x, "lat": y}
            )
            create_case(conn, snap, report, "import", CaseSettings(), f"import:{n}")
    engine.dispose()
    return url


def _export(url: str, monkeypatch: pytest.MonkeyPatch, folder: Path, fmt: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"cases.{fmt}"
    answer = _cli(
        url, monkeypatch, "cases", "export", "--out", str(out), "--format", fmt, "--show-personal"
    )
    assert answer.startswith("0"), answer
    return out


def test_export_names_the_crs_and_carries_photos_and_external_id(
    origin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _export(origin, monkeypatch, tmp_path, "csv")
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert tuple(rows[0]) == HEADERS
    for header in (
        "经度(CGCS2000)",
        "纬度(CGCS2000)",
        "经度(GCJ-02)",
        "纬度(GCJ-02)",
        "照片",
        "外部编号",
    ):
        assert header in rows[0]
    assert "经度" not in rows[0]  # a bare 经度 does not say which datum
    column = {h: i for i, h in enumerate(rows[0])}
    first, second, third = rows[1:]
    assert first[column["描述"]] == "'" + FORMULA  # still never a formula in Excel
    assert first[column["照片"]] == "https://example.org/p/1.jpg https://example.org/p/2.jpg"
    glon, glat = point_from_storage(
        float(first[column["经度(CGCS2000)"]]), float(first[column["纬度(CGCS2000)"]]), "gcj02"
    )
    assert abs(float(first[column["经度(GCJ-02)"]]) - glon) < 2e-7
    assert abs(float(first[column["纬度(GCJ-02)"]]) - glat) < 2e-7
    assert abs(glon - float(first[column["经度(CGCS2000)"]])) > 0.003  # ~500 m apart in Yaohai
    assert (first[column["外部编号"]], second[column["外部编号"]]) == ("", "H-7")
    assert third[column["报告人电话"]] == "'+86 138 1234 0001"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_reimports_as_the_same_cases(
    origin: str, target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    path = _export(origin, monkeypatch, tmp_path, fmt)
    before = _cases(target)
    first = _cli(target, monkeypatch, "cases", "import", str(path))
    assert first.startswith("0") and "3 cases imported, 0 already" in first, first
    assert _cases(target)[len(before) :] == _cases(origin)  # no apostrophe, same point, photos
    again = _cli(target, monkeypatch, "cases", "import", str(path))
    assert again.startswith("0") and "0 cases imported, 3 already" in again, again
    other = _export(origin, monkeypatch, tmp_path / "x", "xlsx" if fmt == "csv" else "csv")
    mixed = _cli(target, monkeypatch, "cases", "import", str(other))
    assert "0 cases imported, 3 already" in mixed, mixed  # the other format: the same cases
    home = _cli(origin, monkeypatch, "cases", "import", str(path))
    assert home.startswith("0") and "0 cases imported, 3 already" in home, home
    assert len(_cases(origin)) == 3


def test_a_masked_export_imports_without_the_personal_data(
    origin: str, target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "masked.xlsx"
    made = _cli(origin, monkeypatch, "cases", "export", "--out", str(out), "--format", "xlsx")
    assert made.startswith("0"), made
    sheet = openpyxl.load_workbook(out).worksheets[0]
    assert "****" in str(list(sheet.iter_rows(values_only=True))[1])
    answer = _cli(target, monkeypatch, "cases", "import", str(out))
    assert "3 cases imported" in answer, answer
    imported = _cases(target)[-3:]
    assert [(r[3], r[4]) for r in imported] == [(None, None)] * 3


@pytest.mark.parametrize(
    "value", ["=cmd|' /C calc'!A0", "'=x", "''+1", "'tis", "-", "plain", "", "'"]
)
def test_the_guard_comes_off_exactly(value: str) -> None:
    assert cell_text(text_cell(value)) == value


@dataclass
class Site:
    base: str
    key: str
    reporter_key: str = ""


@pytest.fixture
def console_site(target: str) -> Iterator[Site]:
    """The API on ``target``, with a dispatcher's account (intake) and API key."""
    engine = create_engine(target)
    with engine.begin() as conn:
        users.create_user(conn, "intake", Role.dispatcher, "intake-pass-123", AuthSettings())
        users.create_user(conn, "courier", Role.reporter, "courier-pass-123", AuthSettings())
        _, secret = keys.create_key(conn, "hotline-bridge", Role.dispatcher)
        _, courier = keys.create_key(conn, "courier-app", Role.reporter)
    engine.dispose()
    process: subprocess.Popen[bytes]
    process, base = start_api(target)
    yield Site(base, secret, courier)
    process.terminate()
    process.wait(timeout=20)


def test_console_import_of_an_export_is_idempotent(
    origin: str,
    target: str,
    console_site: Site,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = _export(origin, monkeypatch, tmp_path, "xlsx")
    with httpx.Client(base_url=console_site.base, timeout=30) as client:
        signed = client.post("/login", data={"username": "intake", "password": "intake-pass-123"})
        assert signed.status_code == 303, signed.text
        page = client.get("/console/cases")
        token = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
        assert token is not None
        answers = [
            client.post(
                "/console/cases/import",
                files={"file": (path.name, path.read_bytes(), "application/octet-stream")},
                headers={"X-CSRF-Token": token[1]},
            )
            for _ in range(2)
        ]
    assert [a.status_code for a in answers] == [200, 200], answers[0].text
    assert len(_cases(target)) == 3 + 3
    assert "Idempotency-Key" not in answers[1].text
    assert 'action="/console/cases/import"' in page.text
    # a courier (上报员) signed in reports cases but is offered no import, and is refused one
    with httpx.Client(base_url=console_site.base, timeout=30) as client:
        signed = client.post("/login", data={"username": "courier", "password": "courier-pass-123"})
        assert signed.status_code == 303, signed.text
        page = client.get("/console/cases/new")
        token = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
        assert token is not None
        refused = client.post(
            "/console/cases/import",
            files={"file": (path.name, path.read_bytes(), "application/octet-stream")},
            headers={"X-CSRF-Token": token[1]},
        )
    assert refused.status_code == 403, refused.text
    assert len(_cases(target)) == 3 + 3


def test_api_import_of_an_export_is_idempotent(
    origin: str,
    target: str,
    console_site: Site,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = _export(origin, monkeypatch, tmp_path, "csv")
    auth = {"Authorization": f"Bearer {console_site.key}"}
    with httpx.Client(base_url=console_site.base, timeout=30, headers=auth) as client:
        answers = [
            client.post(
                "/v1/cases/import", files={"file": (path.name, path.read_bytes(), "text/csv")}
            )
            for _ in range(2)
        ]
        anonymous = httpx.post(
            f"{console_site.base}/v1/cases/import",
            files={"file": (path.name, path.read_bytes(), "text/csv")},
        )
        bad = client.post(
            "/v1/cases/import",
            files={"file": ("x.csv", "category,description\nE0102,无处\n".encode(), "text/csv")},
        )
        wrong = client.post("/v1/cases/import", files={"file": ("x.pdf", b"%PDF", "x")})
        # a reporter (a courier's key) reports one case at a time; a file of them is the
        # case centre's
        courier = httpx.post(
            f"{console_site.base}/v1/cases/import",
            files={"file": (path.name, path.read_bytes(), "text/csv")},
            headers={"Authorization": f"Bearer {console_site.reporter_key}"},
        )
    assert [a.status_code for a in answers] == [200, 200], answers[0].text
    first, again = (CaseImportAnswer.model_validate(a.json()) for a in answers)
    assert (len(first.created), first.already, first.refused) == (3, [], [])
    assert (again.created, sorted(again.already)) == ([], sorted(first.created))
    assert _cases(target)[3:] == _cases(origin)
    assert anonymous.status_code in (401, 403)
    assert bad.status_code == 422 and "line 2" in bad.json()["detail"], bad.text
    assert wrong.status_code == 422 and "x.pdf" in wrong.json()["detail"], wrong.text
    assert courier.status_code == 403 and "import_cases" in courier.json()["detail"]
    assert len(_cases(target)) == 6  # the refused files changed nothing
