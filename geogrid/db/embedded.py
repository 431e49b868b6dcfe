"""The embedded PostgreSQL cluster: created on first use, started on each, in a project folder.

With no ``GEOGRID_DATABASE_URL`` geogrid runs its own cluster with the system's ``initdb`` and
``pg_ctl``. PostgreSQL refuses to run as root, so when geogrid runs as root the cluster runs as
an unprivileged system user (``GEOGRID_CLUSTER_USER``, created when missing) and its data sits
where that user can reach it: the project folder when every parent is traversable, otherwise
``/var/lib/geogrid/clusters/<hash>``; :func:`cluster_location` says which.

:func:`make_standby` copies a running cluster into a hot standby of it (``pg_basebackup -R``:
streaming replication, read-only queries), which :func:`start` starts like any cluster.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from geogrid.errors import EmbeddedDatabaseError

DATABASE_NAME = "geogrid"
SUPERUSER = "geogrid"
APT_HINT = "sudo apt-get install -y postgresql-15 postgresql-15-postgis-3"


@dataclass(frozen=True)
class Cluster:
    """Where an embedded cluster lives and how to reach it."""

    data_dir: Path
    bin_dir: Path
    run_as: str | None  # system user running the server, None = the current user

    @property
    def port_file(self) -> Path:
        return self.data_dir.parent / "port"

    @property
    def log_file(self) -> Path:
        return self.data_dir.parent / "postgresql.log"

    @property
    def socket_dir(self) -> Path:
        return self.data_dir.parent

    @property
    def is_standby(self) -> bool:
        """Made by :func:`make_standby`: it replays its primary and takes no writes."""
        return (self.data_dir / "standby.signal").exists()

    def port(self) -> int:
        return int(self.port_file.read_text().strip())

    def url(self, database: str = DATABASE_NAME) -> str:
        return f"postgresql+psycopg2://{SUPERUSER}@127.0.0.1:{self.port()}/{database}"


def find_bin_dir() -> Path:
    """Locate PostgreSQL's server binaries (``initdb``, ``pg_ctl``), newest version first.

    Raises
    ------
    EmbeddedDatabaseError
        With the apt command to run when no server binaries or no PostGIS are installed.
    """
    candidates: list[Path] = []
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates += [Path(p) for p in versions]
    for bin_dir in candidates:
        if (bin_dir / "initdb").exists() and (bin_dir / "pg_ctl").exists():
            if not _has_postgis(bin_dir):
                raise EmbeddedDatabaseError(
                    f"PostgreSQL in {bin_dir} has no PostGIS extension; install it with: {APT_HINT}"
                )
            return bin_dir
    raise EmbeddedDatabaseError(
        f"PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or under "
        f"/usr/lib/postgresql/*/bin; install them with: {APT_HINT} "
        f"(or set GEOGRID_DATABASE_URL to an existing PostGIS server)"
    )


def _has_postgis(bin_dir: Path) -> bool:
    sharedir = (
        subprocess.run(
            [str(bin_dir / "pg_config"), "--sharedir"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if (bin_dir / "pg_config").exists()
        else ""
    )
    version = bin_dir.parent.name
    places = [Path(sharedir) / "extension"] if sharedir else []
    places.append(Path(f"/usr/share/postgresql/{version}/extension"))
    return any((p / "postgis.control").exists() for p in places)


def _reachable_by(user: str, path: Path) -> bool:
    """True when ``user`` can traverse every folder from / down to ``path``."""
    pw = pwd.getpwnam(user)
    probe = path
    while not probe.exists():
        probe = probe.parent
    result = subprocess.run(
        ["test", "-x", str(probe)],
        user=pw.pw_uid,
        group=pw.pw_gid,
        extra_groups=[],
        check=False,
    )
    return result.returncode == 0


def _ensure_system_user(user: str) -> None:
    try:
        pwd.getpwnam(user)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user],
            check=True,
            capture_output=True,
        )


def cluster_location(home: Path, cluster_user: str) -> Cluster:
    """Decide where the cluster for project folder ``home`` lives and who runs it."""
    bin_dir = find_bin_dir()
    home = home.resolve()
    if os.geteuid() != 0:
        return Cluster(home / "pg" / "data", bin_dir, None)
    _ensure_system_user(cluster_user)
    if _reachable_by(cluster_user, home.parent):
        base = home / "pg"
    else:
        digest = hashlib.sha1(str(home).encode()).hexdigest()[:12]
        base = Path("/var/lib/geogrid/clusters") / digest
    return Cluster(base / "data", bin_dir, cluster_user)


def _run(cluster: Cluster, *args: str) -> subprocess.CompletedProcess[str]:
    kwargs: dict[str, object] = {}
    if cluster.run_as:
        pw = pwd.getpwnam(cluster.run_as)
        kwargs = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        list(args), capture_output=True, text=True, check=False, cwd="/", **kwargs
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def _locked(cluster: Cluster) -> Iterator[None]:
    base = cluster.data_dir.parent
    base.mkdir(parents=True, exist_ok=True)
    with open(base / "lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _chown_tree(cluster: Cluster) -> None:
    if not cluster.run_as:
        return
    pw = pwd.getpwnam(cluster.run_as)
    base = cluster.data_dir.parent
    for folder in [base, *(p for p in base.parents if str(p).startswith("/var/lib/geogrid"))]:
        os.chown(folder, pw.pw_uid, pw.pw_gid)
    for name in ("lock", "port"):
        if (base / name).exists():
            os.chown(base / name, pw.pw_uid, pw.pw_gid)


def is_running(cluster: Cluster) -> bool:
    if not (cluster.data_dir / "PG_VERSION").exists():
        return False
    return (
        _run(
            cluster, str(cluster.bin_dir / "pg_ctl"), "status", "-D", str(cluster.data_dir)
        ).returncode
        == 0
    )


def start(cluster: Cluster) -> str:
    """Create (first time) and start the cluster; return the URL of its ``geogrid`` database."""
    with _locked(cluster):
        _chown_tree(cluster)
        if not (cluster.data_dir / "PG_VERSION").exists():
            _initdb(cluster)
        if not is_running(cluster):
            port = cluster.port() if cluster.port_file.exists() else _free_port()
            if _port_in_use(port):
                port = _free_port()
            cluster.port_file.write_text(f"{port}\n")
            _chown_tree(cluster)
            options = (
                f"-p {port} -c listen_addresses=127.0.0.1 "
                f"-c unix_socket_directories='{cluster.socket_dir}' -c fsync=on"
            )
            result = _run(
                cluster,
                str(cluster.bin_dir / "pg_ctl"),
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                str(cluster.data_dir),
                "-l",
                str(cluster.log_file),
                "-o",
                options,
            )
            if result.returncode != 0:
                raise EmbeddedDatabaseError(
                    f"could not start the embedded PostgreSQL in {cluster.data_dir}: "
                    f"{result.stderr.strip() or result.stdout.strip()} (log: {cluster.log_file})"
                )
        _wait_ready(cluster)
        if not cluster.is_standby:  # a standby has its primary's databases, and no writes
            _ensure_database(cluster, DATABASE_NAME)
    return cluster.url()


def make_standby(primary: Cluster, standby: Cluster) -> Cluster:
    """Copy the running ``primary`` into ``standby``'s empty data folder as a hot standby.

    ``pg_basebackup -R`` writes the connection to the primary and ``standby.signal``: once
    started (:func:`start`), the standby streams the primary's changes and answers read-only
    queries, as a replica in production does.

    Raises
    ------
    EmbeddedDatabaseError
        When the folder is not empty or pg_basebackup fails.
    """
    if standby.data_dir.exists() and any(standby.data_dir.iterdir()):
        raise EmbeddedDatabaseError(f"{standby.data_dir} is not empty; a standby needs a new one")
    with _locked(standby):
        _chown_tree(standby)
        result = _run(
            standby,
            str(standby.bin_dir / "pg_basebackup"),
            "-D",
            str(standby.data_dir),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port()),
            "-U",
            SUPERUSER,
        )
    if result.returncode != 0:
        raise EmbeddedDatabaseError(
            f"pg_basebackup of {primary.data_dir} into {standby.data_dir} failed: "
            f"{result.stderr.strip()}"
        )
    return standby


def _initdb(cluster: Cluster) -> None:
    cluster.data_dir.parent.mkdir(parents=True, exist_ok=True)
    _chown_tree(cluster)
    result = _run(
        cluster,
        str(cluster.bin_dir / "initdb"),
        "-D",
        str(cluster.data_dir),
        "-U",
        SUPERUSER,
        "--auth=trust",
        "-E",
        "UTF8",
        "--no-locale",
    )
    if result.returncode != 0:
        raise EmbeddedDatabaseError(
            f"initdb failed for {cluster.data_dir}: {result.stderr.strip()}"
        )


def _wait_ready(cluster: Cluster, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready = _run(
            cluster,
            str(cluster.bin_dir / "pg_isready"),
            "-h",
            "127.0.0.1",
            "-p",
            str(cluster.port()),
            "-U",
            SUPERUSER,
        )
        if ready.returncode == 0:
            return
        time.sleep(0.2)
    raise EmbeddedDatabaseError(
        f"embedded PostgreSQL did not become ready (log: {cluster.log_file})"
    )


def _psql(cluster: Cluster, database: str, sql: str) -> subprocess.CompletedProcess[str]:
    return _run(
        cluster,
        str(cluster.bin_dir / "psql"),
        "-h",
        "127.0.0.1",
        "-p",
        str(cluster.port()),
        "-U",
        SUPERUSER,
        "-d",
        database,
        "-v",
        "ON_ERROR_STOP=1",
        "-tAc",
        sql,
    )


def _ensure_database(cluster: Cluster, name: str) -> None:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise EmbeddedDatabaseError(f'database name "{name}" must match [a-z_][a-z0-9_]*')
    exists = _psql(cluster, "postgres", f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
    if exists.stdout.strip() != "1":
        created = _psql(cluster, "postgres", f'CREATE DATABASE "{name}"')
        if created.returncode != 0:
            raise EmbeddedDatabaseError(f"could not create database {name}: {created.stderr}")
    ext = _psql(cluster, name, "CREATE EXTENSION IF NOT EXISTS postgis")
    if ext.returncode != 0:
        raise EmbeddedDatabaseError(
            f"could not enable PostGIS: {ext.stderr.strip()}; install it with: {APT_HINT}"
        )


def stop(cluster: Cluster) -> bool:
    """Stop the cluster cleanly (fast shutdown). Returns False when it was not running."""
    if not is_running(cluster):
        return False
    result = _run(
        cluster,
        str(cluster.bin_dir / "pg_ctl"),
        "stop",
        "-w",
        "-m",
        "fast",
        "-D",
        str(cluster.data_dir),
    )
    if result.returncode != 0:
        raise EmbeddedDatabaseError(f"could not stop the embedded PostgreSQL: {result.stderr}")
    return True
