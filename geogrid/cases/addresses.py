"""Turning a reporter's address into a place: matching it against compound names.

Rules, in order: the address is a compound's name; the address contains compound names (the
longest wins: "长江东路海棠小区5栋" → 海棠小区); the address is part of exactly one compound's name.
Otherwise the address is refused with the closest names, so the dispatcher can pick one.
The place is the compound's point-on-surface — the point its households count at.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from geogrid.errors import InvalidInputError
from geogrid.i18n import tr


@dataclass(frozen=True)
class CompoundMatch:
    """The compound an address names, and its point in storage lon/lat."""

    id: int
    name: str
    lon: float
    lat: float


def match_compound(conn: Connection, address: str) -> CompoundMatch:
    """The compound ``address`` names; raises InvalidInputError listing close names."""
    wanted = "".join(address.split())
    rows = conn.execute(
        text("SELECT id, name, ST_X(point) AS lon, ST_Y(point) AS lat FROM compound ORDER BY id")
    ).all()
    by_name = {"".join(r.name.split()): r for r in rows}
    if wanted in by_name:
        return _match(by_name[wanted])
    inside = sorted((n for n in by_name if n and n in wanted), key=len, reverse=True)
    if inside:
        return _match(by_name[inside[0]])
    around = [n for n in by_name if wanted in n]
    if len(around) == 1:
        return _match(by_name[around[0]])
    if around:
        raise InvalidInputError(
            tr(
                'address "{address}" matches several compounds: {value}; name one of them',
                address=address,
                value=sorted(around)[:10],
            ),
            details={"candidates": sorted(around)[:10]},
        )
    close = difflib.get_close_matches(wanted, list(by_name), n=5, cutoff=0.3)
    raise InvalidInputError(
        tr(
            'address "{address}" names no compound; close names: {close}. Send lon '
            "and lat instead if the place is not a compound.",
            address=address,
            close=close or "none",
            close_zh=close or "无",
        ),
        details={"close_names": close},
    )


def _match(row: Any) -> CompoundMatch:
    return CompoundMatch(int(row.id), str(row.name), float(row.lon), float(row.lat))
