"""Long SQL lives in geogrid/db/sql/*.sql; this loads it by name (cached)."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def sql(name: str) -> str:
    """The text of ``geogrid/db/sql/<name>.sql``."""
    return resources.files("geogrid.db").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")
