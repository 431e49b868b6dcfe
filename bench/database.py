"""A throwaway database with the Yaohai demo loaded, made the way tests/conftest.py makes one."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

from geogrid import db, organisations
from geogrid.io import loading
from geogrid.settings import DatabaseSettings, DemoSettings, ServiceAreaSettings


def server_url() -> str:
    """``GEOGRID_DATABASE_URL`` when set, else geogrid's embedded cluster (started if needed)."""
    return db.resolve_url(DatabaseSettings())


@contextmanager
def demo_database() -> Iterator[str]:
    """Create a migrated database holding the demo (with its registers of people and
    organisations, as `geogrid load demo` leaves it); yield its URL; drop it afterwards."""
    server = server_url()
    name = f"geogrid_bench_{os.getpid()}_{secrets.token_hex(3)}"
    url = db.create_database(server, name)
    try:
        db.migrate(url)
        engine = create_engine(url)
        with engine.begin() as conn:
            loading.load_demo(conn, DemoSettings().demo_path, ServiceAreaSettings())
            # as `geogrid load demo` does: locate names who serves each grid from them
            organisations.load_demo_registers(conn, DemoSettings().demo_path.parent)
        engine.dispose()
        yield url
    finally:
        db.drop_database(server, name)


def pin_postgres(url: str, pid: int, cpus: set[int]) -> bool:
    """Pin PostgreSQL backend ``pid`` of the server at ``url`` to ``cpus``.

    A backend is another process: left alone it runs on whichever core is free, so a
    comparison on a fixed core budget has to pin it too. False when the server is remote or
    the process is not a local postgres we may pin.
    """
    if make_url(url).host not in (None, "", "localhost", "127.0.0.1", "::1"):
        return False
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8") as comm:
            if comm.read().strip() != "postgres":
                return False
        os.sched_setaffinity(pid, cpus)
    except OSError:  # gone, or not ours to pin
        return False
    return True


def backend_pid(conn: Connection) -> int:
    """The pid of the PostgreSQL backend serving ``conn``."""
    return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
