"""A fleet: `geogrid serve` processes on a PostgreSQL primary and its hot standby.

The primary and the standby are clusters of this test's own, made with PostgreSQL's tools as
geogrid makes its embedded one (``initdb``; ``pg_basebackup -R`` for the standby, which then
streams the primary's changes), so the test needs no particular test server.

How it tells which database answered: with replay paused on the standby, a street renamed on
the primary (a change no release carries) keeps its old name on the standby; an answer with
the old name was read there.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text

from geogrid import db, plans
from geogrid.access import keys
from geogrid.access.roles import Role
from geogrid.db import embedded
from geogrid.io import loading
from geogrid.settings import DatabaseSettings, DemoSettings, ServiceAreaSettings
from tests.conftest import ARTIFACTS, start_api
from tests.plans.test_plans import neighbours, transfer

pytestmark = pytest.mark.database  # starts clusters of its own


class Clusters:
    """A primary with the demo loaded, and a hot standby of it."""

    def __init__(self, folder: Path) -> None:
        user = DatabaseSettings().cluster_user
        self.primary = embedded.cluster_location(folder / "primary", user)
        self.standby = embedded.cluster_location(folder / "standby", user)

    def start(self) -> None:
        self.primary_url = embedded.start(self.primary)
        db.migrate(self.primary_url)
        self.engine = create_engine(self.primary_url)
        with self.engine.begin() as conn:
            loading.load_demo(conn, DemoSettings().demo_path, ServiceAreaSettings())
            _, self.planner_key = keys.create_key(conn, "planner", Role.planner)
        embedded.make_standby(self.primary, self.standby)
        self.standby_url = embedded.start(self.standby)
        self.standby_engine = create_engine(self.standby_url, isolation_level="AUTOCOMMIT")

    def on_standby(self, sql: str) -> object:
        with self.standby_engine.connect() as conn:
            return conn.execute(text(sql)).scalar()

    def replayed(self, release: int, within_s: float = 10.0) -> None:
        """Wait until the standby has replayed ``release``."""
        deadline = time.monotonic() + within_s
        while self.on_standby("SELECT max(id) FROM boundary_release") != release:
            assert time.monotonic() < deadline, f"the standby did not replay release {release}"
            time.sleep(0.05)

    def stop(self) -> None:
        for engine in ("standby_engine", "engine"):
            if hasattr(self, engine):
                getattr(self, engine).dispose()
        for cluster in (self.standby, self.primary):
            embedded.stop(cluster)


@pytest.fixture
def clusters() -> Iterator[Clusters]:
    # Not pytest's tmp_path: the clusters run as an unprivileged user when tests run as root,
    # and that user must reach their folders.
    folder = Path(tempfile.mkdtemp(prefix="geogrid-fleet-"))
    folder.chmod(0o755)
    found = Clusters(folder)
    try:
        found.start()
        yield found
    finally:
        found.stop()
        shutil.rmtree(folder, ignore_errors=True)
        for cluster in (found.primary, found.standby):  # outside the folder when root
            shutil.rmtree(cluster.data_dir.parent, ignore_errors=True)


def rename_street(engine: Engine, name: str) -> None:
    """Rename the first street on the primary: a change no release carries."""
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE street SET name = :name WHERE code = (SELECT min(code) FROM street)"),
            {"name": name},
        )


def first_street(base: str) -> str:
    answer = httpx.get(f"{base}/v1/streets", params={"limit": 1}, timeout=10)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["features"][0]["properties"]["name"])


def stop(started: list[tuple[subprocess.Popen[bytes], str]]) -> None:
    for process, _ in started:
        process.terminate()
    for process, _ in started:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_two_processes_follow_a_publish_and_read_from_the_standby(clusters: Clusters) -> None:
    replica = {"GEOGRID_DATABASE_REPLICA_URL": clusters.standby_url}
    started = [start_api(clusters.primary_url, settings=replica) for _ in range(2)]
    try:
        bases = [base for _, base in started]
        for base in bases:
            assert httpx.get(f"{base}/livez", timeout=10).json()["release"] == 1

        # Release-pinned reads go to the standby once it has the release they need.
        clusters.on_standby("SELECT pg_wal_replay_pause()")
        old = first_street(bases[0])
        rename_street(clusters.engine, "renamed on the primary")
        assert [first_street(base) for base in bases] == [old, old]

        # A plan published through the first process, while the standby replays nothing.
        a, b, strip = neighbours(clusters.engine)
        headers = {"Authorization": f"Bearer {clusters.planner_key}"}
        with httpx.Client(base_url=bases[0], headers=headers, timeout=60) as planner:
            plan = planner.post("/v1/plans", json={"comment": "fleet"}).json()
            edit = planner.post(f"/v1/plans/{plan['id']}/edits", json=transfer(a, b, strip))
            assert edit.status_code == 201, edit.text
            published = planner.post(f"/v1/plans/{plan['id']}/publish")
            assert published.status_code == 200, published.text
        answered = time.monotonic()
        assert published.json()["release"] == 2

        # Both processes serve it within a second of the publish's answer.
        seen: dict[str, float] = {}
        while len(seen) < len(bases) and time.monotonic() - answered < 5:
            for base in set(bases) - set(seen):
                if httpx.get(f"{base}/livez", timeout=10).json()["release"] == 2:
                    seen[base] = time.monotonic() - answered
        assert len(seen) == len(bases) and max(seen.values()) < 1.0, seen

        # The standby has not replayed release 2: every pinned read goes to the primary.
        for base in bases:
            assert first_street(base) == "renamed on the primary"
            grids = httpx.get(f"{base}/v1/grids", params={"limit": 1}, timeout=10).json()
            assert grids["release"] == 2
            named = httpx.get(f"{base}/v1/grids", params={"limit": 1, "release": 2}, timeout=10)
            assert named.json()["release"] == 2

        # Replayed, the standby serves again: it has release 2 but not a later rename.
        clusters.on_standby("SELECT pg_wal_replay_resume()")
        clusters.replayed(2)
        clusters.on_standby("SELECT pg_wal_replay_pause()")
        rename_street(clusters.engine, "renamed again")
        time.sleep(0.2)  # past the 0.1 s in which a process does not ask a lagging standby again
        assert [first_street(base) for base in bases] == ["renamed on the primary"] * 2

        # A standby that stops answering: the primary answers instead.
        embedded.stop(clusters.standby)
        assert [first_street(base) for base in bases] == ["renamed again"] * 2
    finally:
        stop(started)


def test_a_process_on_the_standby_alone_polls_for_releases_and_keys(clusters: Clusters) -> None:
    """A read-only deployment: GEOGRID_DATABASE_URL is the standby, which carries no NOTIFY."""
    process, base = start_api(clusters.standby_url, settings={"GEOGRID_KEY_CACHE_S": "1"})
    try:
        planner = {"Authorization": f"Bearer {clusters.planner_key}"}
        assert httpx.get(f"{base}/livez", timeout=10).json()["release"] == 1
        # Keys are read from the standby; writes are refused, wrong keys still counted.
        assert httpx.get(f"{base}/v1/me", headers=planner, timeout=10).json()["role"] == "planner"
        refused = httpx.post(f"{base}/v1/plans", json={}, headers=planner, timeout=10)
        assert (refused.status_code, refused.json()["code"]) == (503, "read_only")
        wrong = httpx.get(f"{base}/v1/me", headers={"Authorization": "Bearer gg_no"}, timeout=10)
        assert wrong.status_code == 401

        # A release published on the primary is found by polling and served.
        a, b, strip = neighbours(clusters.engine)
        with clusters.engine.begin() as conn:
            plan = plans.create_plan(conn, "standby", "planner")
            plans.add_edit(conn, plan.id, transfer(a, b, strip), "planner")
            plans.publish_plan(conn, plan.id, "planner")
        committed = time.monotonic()
        while httpx.get(f"{base}/livez", timeout=10).json()["release"] != 2:
            assert time.monotonic() - committed < 10
            time.sleep(0.02)
        served_after = time.monotonic() - committed

        # A revoked key stops working within GEOGRID_KEY_CACHE_S (1 s here), plus the replay.
        with clusters.engine.begin() as conn:
            keys.revoke_key(conn, "planner")
        revoked = time.monotonic()
        while httpx.get(f"{base}/v1/me", headers=planner, timeout=10).status_code != 401:
            assert time.monotonic() - revoked < 1.5, "the revocation did not arrive"
            time.sleep(0.05)
    finally:
        stop([(process, base)])
    # The standby refused LISTEN once; the process said so once and kept quiet.
    log = (ARTIFACTS / f"uvicorn-{base.rsplit(':', 1)[1]}.log").read_text(encoding="utf-8")
    assert log.count("hot standby (no NOTIFY)") == 1
    assert "lost the database" not in log
    # It began building release 2 within the 0.5 s poll (and the replay) of the commit; the
    # build itself (0.3 s on a quiet machine, more on a busy one) is bench/'s to time.
    built = re.search(r"serving boundary release 2 \(snapshot built in ([\d.]+) s\)", log)
    assert built is not None
    assert served_after - float(built.group(1)) < 1.0, (served_after, built.group(1))
