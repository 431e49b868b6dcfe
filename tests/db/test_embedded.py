"""The embedded cluster: created once, started each time, data kept, stopped cleanly."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from geogrid.db import embedded
from geogrid.errors import EmbeddedDatabaseError

#: These start and stop real PostgreSQL clusters of their own.
makes_a_cluster = pytest.mark.database


def test_missing_binaries_fail_with_the_apt_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedded.shutil, "which", lambda name: None)
    monkeypatch.setattr(embedded.glob, "glob", lambda pattern: [])
    with pytest.raises(EmbeddedDatabaseError, match="apt-get install -y postgresql-15"):
        embedded.find_bin_dir()


@pytest.fixture
def project_home() -> Path:
    # A folder every user can traverse, like a checkout under /work or /home/<user>.
    base = Path(tempfile.mkdtemp(prefix="geogrid-home-", dir="/tmp"))
    os.chmod(base, 0o755)
    yield base / ".geogrid"
    shutil.rmtree(base, ignore_errors=True)


def _cleanup(cluster: embedded.Cluster) -> None:
    embedded.stop(cluster)
    shutil.rmtree(cluster.data_dir.parent, ignore_errors=True)


@makes_a_cluster
def test_cluster_is_created_reused_and_stopped(project_home: Path) -> None:
    cluster = embedded.cluster_location(project_home, "geogrid")
    try:
        url = embedded.start(cluster)
        engine = create_engine(url)
        with engine.begin() as conn:
            assert conn.execute(text("SELECT postgis_lib_version()")).scalar_one()
            conn.execute(text("CREATE TABLE kept (v int)"))
            conn.execute(text("INSERT INTO kept VALUES (42)"))
        engine.dispose()
        assert embedded.stop(cluster) is True
        assert not embedded.is_running(cluster)
        assert embedded.stop(cluster) is False

        again = embedded.start(cluster)
        engine = create_engine(again)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT v FROM kept")).scalar_one() == 42
        engine.dispose()
        assert cluster.data_dir.is_relative_to(project_home)
    finally:
        _cleanup(cluster)


@makes_a_cluster
@pytest.mark.skipif(os.geteuid() != 0, reason="the root-only-home case needs root")
def test_as_root_a_root_only_home_moves_the_data_where_the_user_can_reach_it() -> None:
    private = Path(tempfile.mkdtemp(prefix="geogrid-private-"))
    os.chmod(private, 0o700)
    cluster = embedded.cluster_location(private / ".geogrid", "geogrid")
    try:
        assert cluster.run_as == "geogrid"
        assert str(cluster.data_dir).startswith("/var/lib/geogrid/clusters/")
        url = embedded.start(cluster)
        engine = create_engine(url)
        with engine.connect() as conn:
            owner = conn.execute(text("SELECT current_setting('data_directory')")).scalar_one()
        engine.dispose()
        assert owner == str(cluster.data_dir)
        assert cluster.data_dir.stat().st_uid != 0
    finally:
        _cleanup(cluster)
        shutil.rmtree(private, ignore_errors=True)
