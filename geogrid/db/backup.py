"""Backups with pg_dump / pg_restore, so nothing depends on the embedded folder surviving."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from geogrid.errors import GeogridError, InvalidInputError


class BackupError(GeogridError):
    """pg_dump or pg_restore failed."""

    code = "backup_failed"


def _tool(name: str, bin_dir: Path | None) -> str:
    if bin_dir is not None and (bin_dir / name).exists():
        return str(bin_dir / name)
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} not found; install it with: sudo apt-get install -y postgresql-client-15"
        )
    return found


def _libpq_args(url: str) -> list[str]:
    u = make_url(url)
    args = ["-d", u.database or "postgres"]
    if u.host:
        args += ["-h", u.host]
    if u.port:
        args += ["-p", str(u.port)]
    if u.username:
        args += ["-U", u.username]
    return args


def _env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    password = make_url(url).password
    if password:
        env["PGPASSWORD"] = str(password)
    return env


def backup(url: str, path: Path, bin_dir: Path | None = None) -> Path:
    """Write the whole database at ``url`` to ``path`` (pg_dump custom format)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [_tool("pg_dump", bin_dir), "-Fc", "--no-owner", "-f", str(path), *_libpq_args(url)],
        capture_output=True,
        text=True,
        env=_env(url),
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    return path


def restore(url: str, path: Path, bin_dir: Path | None = None) -> None:
    """Replace the database at ``url`` with the backup in ``path``, in one transaction.

    A failed restore leaves the database as it was.
    """
    if not path.exists():
        raise InvalidInputError(f"backup file {path} does not exist")
    result = subprocess.run(
        [
            _tool("pg_restore", bin_dir),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            *_libpq_args(url),
            str(path),
        ],
        capture_output=True,
        text=True,
        env=_env(url),
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed, nothing was changed: {result.stderr.strip()}")
