"""Fuzzing the whole OpenAPI document against a real server: no operation answers 5xx.

Schemathesis (its ``st run`` command, as one would run it by hand) generates requests from
``/openapi.json`` — valid ones from each schema and invalid ones that break it — for every
operation, anonymously and with an admin key, against uvicorn on a throwaway copy of the demo
database (the admin's writes: cases, plans, publishing). The check is ``not_a_server_error``:
a 500 is a bug (docs/architecture.md, "Bounds"). Each 5xx found so far has a regression test in
tests/api/test_bounds.py.

CI runs a few examples per operation (``GEOGRID_FUZZ_EXAMPLES``, default 5; about 3,300
requests each way, most of them schemathesis' coverage phase: the edges of every bound) with a
fixed seed (``GEOGRID_FUZZ_SEED``, default 11). A longer run (docs/architecture.md, "Bounds"):

    GEOGRID_FUZZ_EXAMPLES=100 GEOGRID_FUZZ_PHASES=examples,coverage,fuzzing,stateful \\
        .venv/bin/python -m pytest -p no:cacheprovider tests/api/test_fuzz.py -s
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from geogrid.access import keys
from geogrid.access.roles import Role
from tests.conftest import start_api

EXAMPLES = int(os.environ.get("GEOGRID_FUZZ_EXAMPLES", "5"))
PHASES = os.environ.get("GEOGRID_FUZZ_PHASES", "examples,coverage,fuzzing")
SEED = int(os.environ.get("GEOGRID_FUZZ_SEED", "11"))


@pytest.fixture
def served(fresh_demo_url: str) -> Iterator[tuple[str, str]]:
    """A server on a throwaway demo database, and an admin key for it."""
    engine = create_engine(fresh_demo_url)
    with engine.begin() as conn:
        _, admin = keys.create_key(conn, "fuzz-admin", Role.admin)
    engine.dispose()
    process, base = start_api(fresh_demo_url)
    yield base, admin
    process.terminate()
    process.wait(timeout=20)


def fuzz(base: str, key: str | None, report: Path) -> dict[str, Any]:
    """Run ``st run`` against ``base`` and return its JSON report."""
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{base}/openapi.json",
        "--checks=not_a_server_error",
        f"--max-examples={EXAMPLES}",
        f"--phases={PHASES}",
        "--workers=1",
        f"--seed={SEED}",
        "--generation-database=none",
        "--request-timeout=60",
        "--no-color",
        "--report=json",
        f"--report-json-path={report}",
    ]
    if key is not None:
        command.append(f"--header=Authorization: Bearer {key}")
    # In the report's folder: schemathesis keeps a cache of crashes where it runs.
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, cwd=report.parent)
    print(done.stdout[-3000:])
    assert report.exists(), done.stdout[-5000:] + done.stderr[-5000:]
    found: dict[str, Any] = json.loads(report.read_text())
    found["output"] = done.stdout
    return found


@pytest.mark.parametrize("role", [None, Role.admin], ids=["anonymous", "admin"])
def test_fuzzing_every_operation_finds_no_server_error(
    served: tuple[str, str], role: Role | None, tmp_path: Path
) -> None:
    base, admin = served
    found = fuzz(base, None if role is None else admin, tmp_path / "report.json")
    operations = found["operations"]
    assert operations["tested"] == operations["total"] >= 45, operations
    assert operations["errored"] == 0, found["output"][-5000:]
    server_errors = [f for f in found["failures"] if f["code"] == "ST101"]
    assert server_errors == [], found["output"][-8000:]
    print(
        f"fuzz ({role.name if role else 'anonymous'}): {operations['tested']} operations, "
        f"{found['test_cases']['generated']} requests, {len(server_errors)} server errors, "
        f"{found['running_time']:.0f} s"
    )
