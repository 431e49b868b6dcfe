"""Test databases: throwaway PostGIS databases on the embedded cluster (or a given server).

The server is ``GEOGRID_TEST_DATABASE_URL`` when set, else ``GEOGRID_DATABASE_URL``, else
geogrid's own embedded cluster — the same mechanism users run. Each test session creates a
template database with the Yaohai demo loaded by the same loader users run; tests that write get
a fresh copy of it (CREATE DATABASE ... TEMPLATE, about a second), read-only tests share one.
Every database made here is dropped at the end.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from geogrid import db, organisations
from geogrid.io import loading
from geogrid.settings import DatabaseSettings, DemoSettings, ServiceAreaSettings

REPO = Path(__file__).resolve().parents[1]

# Every test request comes from 127.0.0.1, thousands a minute: the servers tests start get
# budgets to match. tests/api/test_rate_limits.py sets small ones and checks them.
for _budget in ("WRITES", "BATCHES", "FAILED_AUTHENTICATION", "FAILED_SIGN_IN"):
    os.environ.setdefault(f"GEOGRID_RATE_{_budget}", "100000/minute")
ARTIFACTS = REPO / "tests" / "artifacts"
# Rich reads the width of its consoles (geogrid/cli/support.py) once, when they are made: as
# wide as the tables the CLI tests read, whether or not pytest runs in a terminal (or a worker).
os.environ.setdefault("COLUMNS", "250")


def _server_url() -> str:
    explicit = os.environ.get("GEOGRID_TEST_DATABASE_URL") or os.environ.get("GEOGRID_DATABASE_URL")
    if explicit:
        return db.normalise_url(explicit)
    return db.resolve_url(DatabaseSettings(database_url=None))


@dataclass
class TestServer:
    """The PostgreSQL server tests run on, and the databases they made there."""

    url: str
    run_id: str
    made: list[str]

    def database(self, suffix: str, template: str | None = None) -> str:
        name = f"geogrid_test_{self.run_id}_{suffix}"
        self.made.append(name)
        if template is None:
            url = db.create_database(self.url, name)
            db.migrate(url)
            return url
        admin = create_engine(
            make_url(self.url).set(database="postgres"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(
                text(f"CREATE DATABASE {db.quote_ident(name)} TEMPLATE {db.quote_ident(template)}")
            )
        admin.dispose()
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def server() -> Iterator[TestServer]:
    found = TestServer(_server_url(), f"{os.getpid()}_{secrets.token_hex(3)}", [])
    yield found
    for name in reversed(found.made):
        db.drop_database(found.url, name)


@pytest.fixture(scope="session")
def demo_template(server: TestServer) -> str:
    """Name of a database holding the migrated schema and the loaded demo (do not write)."""
    url = server.database("template")
    engine = create_engine(url)
    with engine.begin() as conn:
        loading.load_demo(conn, DemoSettings().demo_path, ServiceAreaSettings())
        # as `geogrid load demo` does: the generated registers of people and organisations
        organisations.load_demo_registers(conn, DemoSettings().demo_path.parent)
    engine.dispose()
    return str(make_url(url).database)


@pytest.fixture(scope="session")
def demo_url(server: TestServer, demo_template: str) -> str:
    """A shared demo database for read-only tests."""
    return server.database("shared", template=demo_template)


@pytest.fixture(scope="session")
def demo_engine(demo_url: str) -> Iterator[Engine]:
    engine = db.make_engine(demo_url)
    yield engine
    engine.dispose()


@pytest.fixture
def fresh_demo_url(server: TestServer, demo_template: str, request: pytest.FixtureRequest) -> str:
    """A private copy of the demo database, for tests that write."""
    return server.database(f"w{secrets.token_hex(3)}", template=demo_template)


@pytest.fixture
def empty_url(server: TestServer) -> str:
    """A migrated database with no data."""
    return server.database(f"e{secrets.token_hex(3)}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    """A real uvicorn process serving the API."""

    base_url: str
    database_url: str

    def client(self, key: str | None = None, **headers: str) -> httpx.Client:
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)


def start_api(
    database_url: str,
    expect_healthy: bool = True,
    settings: dict[str, str] | None = None,
    factory: str | None = None,
    workers: int = 1,
) -> tuple[subprocess.Popen[bytes], str]:
    """Start `geogrid serve` (as shipped) on a free port; wait for /v1/health (any answer unless
    expect_healthy).

    ``settings`` are more environment variables (``GEOGRID_...``) for the server. ``factory``
    serves another app factory under uvicorn instead (a test may serve geogrid's app plus a
    route). ``workers`` is `geogrid serve --workers`.
    """
    port = _free_port()
    env = {**os.environ, "GEOGRID_DATABASE_URL": database_url, **(settings or {})}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = open(ARTIFACTS / f"uvicorn-{port}.log", "wb")  # noqa: SIM115 (lives with the process)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            *(
                ("geogrid.cli.main", "serve")
                if factory is None
                else ("uvicorn", factory, "--factory")
            ),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *(("--workers", str(workers)) if workers != 1 else ()),
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"API exited early; see {log.name}")
        try:
            status = httpx.get(f"{base}/v1/health", timeout=10).status_code
            if status == 200 or not expect_healthy:
                return process, base
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"API did not answer within 60 s; see {log.name}")


@pytest.fixture(scope="session")
def live_api(demo_url: str) -> Iterator[LiveServer]:
    """The API served by uvicorn over real HTTP, on the shared demo database."""
    process, base = start_api(demo_url)
    yield LiveServer(base, demo_url)
    process.terminate()
    process.wait(timeout=20)


# --- tiers -------------------------------------------------------------------------------
#: Every database fixture above depends on this one.
_DATABASE_FIXTURE = "server"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``unit`` every test that needs no database (nor a cluster, a server or a browser).

    ``./scripts/test`` runs this fast tier first (``-m unit``), then the rest
    (``-m "not unit"``). A test that needs a database without taking a database fixture (it
    starts a cluster of its own) says so with ``@pytest.mark.database``.
    """
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if _DATABASE_FIXTURE not in fixtures and item.get_closest_marker("database") is None:
            item.add_marker(pytest.mark.unit)
