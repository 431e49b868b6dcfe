"""The demo's generated registers (``data/organisations/*.csv``, written by
``data/organisations.py``), loaded with the demo when they are there."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection

from geogrid.organisations.files import load_register
from geogrid.organisations.registers import REGISTERS
from geogrid.organisations.store import current_rows


def load_demo_registers(conn: Connection, folder: Path) -> dict[str, int]:
    """Load every register whose file ``<folder>/organisations/<register>.csv`` exists and
    that holds no current rows yet; returns how many rows each loaded. Idempotent, as the demo
    load is, and it never overwrites a register someone has loaded."""
    loaded: dict[str, int] = {}
    for name in REGISTERS:
        path = folder / "organisations" / f"{name}.csv"
        if path.exists() and not current_rows(conn, name):
            loaded[name] = load_register(conn, name, path)
    return loaded
