"""Connections, migrations and throwaway databases.

geogrid functions take a SQLAlchemy ``Connection``; this module makes the engine that hands
them out, resolves where the database is (``GEOGRID_DATABASE_URL`` or the embedded cluster) and
runs the Alembic migrations.
"""

from __future__ import annotations

import re
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from geogrid.db import deadlines, embedded, prepared
from geogrid.settings import DatabaseSettings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
#: A PostgreSQL URL naming no driver: SQLAlchemy 2.1 would pick psycopg (3), which geogrid
#: does not ship; ``postgres://`` is the libpq/Heroku spelling SQLAlchemy does not know at all.
_BARE_POSTGRES = re.compile(r"^(postgres|postgresql)://", re.IGNORECASE)


def quote_ident(name: str) -> str:
    """Quote an SQL identifier; refuses anything but plain names so nothing can be injected."""
    if not _IDENT.fullmatch(name):
        raise ValueError(f'identifier "{name}" must match {_IDENT.pattern}')
    return '"' + name + '"'


def embedded_cluster(settings: DatabaseSettings) -> embedded.Cluster:
    """The embedded cluster for this project folder (not started)."""
    return embedded.cluster_location(settings.home, settings.cluster_user)


def normalise_url(url: str) -> str:
    """``url`` with the driver geogrid ships (psycopg2) when it names none.

    Examples
    --------
    >>> normalise_url("postgresql://u:pw@db:5432/geogrid")
    'postgresql+psycopg2://u:pw@db:5432/geogrid'
    >>> normalise_url("postgres://db/geogrid")
    'postgresql+psycopg2://db/geogrid'
    >>> normalise_url("postgresql+psycopg2://db/geogrid")
    'postgresql+psycopg2://db/geogrid'
    """
    return _BARE_POSTGRES.sub("postgresql+psycopg2://", url.strip(), count=1)


def resolve_url(settings: DatabaseSettings) -> str:
    """The database URL: the configured server, or the embedded cluster (started if needed)."""
    if settings.database_url:
        return normalise_url(settings.database_url)
    return embedded.start(embedded_cluster(settings))


def make_engine(
    url: str, pool_size: int = 5, connect_timeout_s: int = 5, prepared_statements: bool = True
) -> Engine:
    """An engine whose pool checks each connection as it hands it out and honours deadlines.

    ``pool_size`` connections are kept; as many again may open in a burst. A checkout gives the
    connection the statement timeout of the current :class:`~geogrid.db.deadlines.Deadline`
    (none outside one) when it does not hold it yet, and replaces a connection the server has
    closed (see :mod:`geogrid.db.deadlines`).
    ``prepared_statements`` lets :func:`geogrid.db.prepared.run` prepare statements on it.
    """
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=30,
        connect_args={
            "connect_timeout": connect_timeout_s,
            "application_name": "geogrid",
            # PostGIS functions carry high planner costs, so PostgreSQL would JIT-compile
            # geogrid's short queries (~0.3 s each, far more than running them): off for every
            # session, set in the startup packet (no round trip). And Yaohai's clock: every
            # time the database hands back carries +08:00, so every answer does too.
            "options": "-c jit=off -c timezone=Asia/Shanghai",
        },
        execution_options={prepared.OPTION: prepared_statements},
    )
    deadlines.install(engine)
    return engine


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Bring the database at ``url`` to the newest schema (idempotent)."""
    command.upgrade(alembic_config(url), "head")


def create_database(url: str, name: str) -> str:
    """Create database ``name`` with PostGIS on the server of ``url``; return its URL."""
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {quote_ident(name)}"))
    admin.dispose()
    target = make_url(url).set(database=name)
    engine = create_engine(target)
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    engine.dispose()
    return target.render_as_string(hide_password=False)


def drop_database(url: str, name: str) -> None:
    """Drop database ``name`` on the server of ``url``, closing its other sessions."""
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)"))
    admin.dispose()
