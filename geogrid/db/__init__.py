"""Storage: the engine, the embedded PostgreSQL cluster, backups, SQL files and migrations.

``from geogrid import db`` gives the engine functions (``db.make_engine``, ``db.migrate`` ...);
the embedded cluster is ``geogrid.db.embedded``, backups ``geogrid.db.backup``, long SQL
``geogrid.db.sqlfiles.sql`` (files in ``geogrid/db/sql``), Alembic ``geogrid/db/migrations``.
"""

from geogrid.db.engine import (
    MIGRATIONS,
    alembic_config,
    create_database,
    drop_database,
    embedded_cluster,
    make_engine,
    migrate,
    normalise_url,
    quote_ident,
    resolve_url,
)
from geogrid.db.sqlfiles import sql

__all__ = [
    "MIGRATIONS",
    "alembic_config",
    "create_database",
    "drop_database",
    "embedded_cluster",
    "make_engine",
    "migrate",
    "normalise_url",
    "quote_ident",
    "resolve_url",
    "sql",
]
