"""What a health check reports: the database, PostGIS and the current boundary release."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from geogrid.boundaries.releases import current_release


@dataclass(frozen=True)
class Health:
    """Database reachability, PostGIS version and the release being served."""

    database: bool
    postgres_version: str
    postgis_version: str
    release: int | None


def ping(engine: Engine) -> None:
    """One round trip to the database; raises the driver's error when it does not answer."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def check(conn: Connection) -> Health:
    """Ask the database; raises the driver's error when it cannot be reached."""
    row = conn.execute(
        text("SELECT current_setting('server_version') AS pg, postgis_lib_version() AS postgis")
    ).one()
    release = current_release(conn)
    return Health(True, row.pg, row.postgis, None if release is None else release.id)
