"""Possible duplicates: open cases of the same category reported near a new one, lately.

A dispatcher sees them before submitting (the preview); a case created while one exists is
flagged ``possible_duplicate``; a dispatcher merges a duplicate into the case it repeats
(:func:`geogrid.cases.records.merge_case`), keeping every reporter. One indexed query on the
case locations (``case_similar.sql``; about 1 ms among 300,000 cases).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from geogrid.boundaries.grids import Person
from geogrid.db import prepared
from geogrid.db.sqlfiles import sql
from geogrid.settings import CaseSettings

_SIMILAR = text(sql("case_similar"))

#: At most this many similar cases, the nearest.
SIMILAR_LIMIT = 20


@dataclass(frozen=True)
class SimilarCase:
    """An open case of the same category near the report."""

    id: int
    status: str
    grid_code: str
    distance_m: float
    created_at: datetime
    description: str
    reporter: Person

    def masked(self) -> SimilarCase:
        return replace(self, reporter=self.reporter.masked())


@dataclass(frozen=True)
class SimilarCases:
    """The open cases like a report's, as of ``at`` (the database's clock)."""

    at: datetime
    distance_m: float
    days: float
    cases: tuple[SimilarCase, ...]


def similar_cases(
    conn: Connection,
    category: str,
    lon: float,
    lat: float,
    settings: CaseSettings,
    limit: int = SIMILAR_LIMIT,
) -> SimilarCases:
    """Open cases of ``category`` within ``settings.case_similar_distance_m`` metres of a
    storage-CRS point, reported within ``settings.case_similar_days`` days, nearest first.

    Closed and void cases are left out; one query, on the index of case locations.
    """
    rows = prepared.run(
        conn,
        _SIMILAR,
        {
            "x": float(lon),
            "y": float(lat),
            "category": category,
            "distance_m": settings.case_similar_distance_m,
            "days": settings.case_similar_days,
            "limit": limit,
        },
    )
    return SimilarCases(
        at=rows[0].now,
        distance_m=settings.case_similar_distance_m,
        days=settings.case_similar_days,
        cases=tuple(_similar(r) for r in rows if r.id is not None),
    )


def _similar(row: Any) -> SimilarCase:
    return SimilarCase(
        id=int(row.id),
        status=row.status,
        grid_code=row.grid_code.strip(),
        distance_m=round(float(row.distance_m), 1),
        created_at=row.created_at,
        description=row.description,
        reporter=Person(row.reporter_name, row.reporter_phone),
    )
