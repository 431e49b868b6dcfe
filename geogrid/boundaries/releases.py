"""Boundary releases: atomic, published sets of grid geometries, kept forever.

A release is published in one transaction. Grid geometry rows carry the span of releases in
which they held (``valid_from_release`` .. ``valid_to_release``, exclusive), so the layer of any
release, and the release valid at any moment, can be read back.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import geopandas as gpd
import shapely
from sqlalchemy import Connection, text

from geogrid.boundaries import hooks
from geogrid.db.sqlfiles import sql
from geogrid.errors import NotFoundError
from geogrid.geo.datum import STORAGE_SRID

#: Grid attributes stored alongside the geometry (everything but code and geometry).
GRID_ATTRIBUTES = (
    "community_code",
    "name",
    "kind",
    "dedicated_unit_name",
    "dedicated_unit_type",
)
#: The people of a grid, read from the registers (geogrid.organisations; the database view
#: ``grid_people``), never stored with the grid: a plan's ``reassign`` edit writes them to
#: the registers when it is published.
GRID_PEOPLE = (
    "leader_name",
    "leader_phone",
    "party_branch_name",
    "party_secretary_name",
    "party_secretary_phone",
)
#: What a grid row of a layer (a release's, a plan's) carries: its attributes and its people.
GRID_FIELDS = GRID_ATTRIBUTES + GRID_PEOPLE
# Serialises publishers: two plans never publish at once (docs/architecture.md, Invariants).
#: Advisory lock key: publishers hold it exclusively, case creation shared (the district code).
PUBLISH_LOCK = 340102


@dataclass(frozen=True)
class BoundaryRelease:
    """One published boundary release."""

    id: int
    published_at: datetime
    published_by: str
    comment: str
    source: str


def _release(row: Any) -> BoundaryRelease:
    return BoundaryRelease(row.id, row.published_at, row.published_by, row.comment, row.source)


_SELECT = "SELECT id, published_at, published_by, comment, source FROM boundary_release"


def current_release(conn: Connection) -> BoundaryRelease | None:
    """The newest published release, or None before the first load."""
    row = conn.execute(text(f"{_SELECT} ORDER BY id DESC LIMIT 1")).one_or_none()
    return None if row is None else _release(row)


def newest_release_id(conn: Connection) -> int | None:
    """The id of the newest published release (one index lookup), or None before the first.

    What a process compares to know whether it is behind, and whether a hot standby has
    replayed a release yet.
    """
    newest = conn.execute(text("SELECT max(id) FROM boundary_release")).scalar()
    return None if newest is None else int(newest)


def get_release(conn: Connection, release_id: int) -> BoundaryRelease:
    """Release ``release_id``; raises NotFoundError naming the releases that exist."""
    row = conn.execute(text(f"{_SELECT} WHERE id = :id"), {"id": release_id}).one_or_none()
    if row is None:
        ids = conn.execute(text("SELECT coalesce(max(id), 0) FROM boundary_release")).scalar_one()
        raise NotFoundError(f"release {release_id} does not exist; releases are 1..{ids}")
    return _release(row)


def release_at(conn: Connection, moment: datetime) -> BoundaryRelease | None:
    """The release that was current at ``moment`` (timezone-aware), None before the first."""
    row = conn.execute(
        text(f"{_SELECT} WHERE published_at <= :t ORDER BY id DESC LIMIT 1"), {"t": moment}
    ).one_or_none()
    return None if row is None else _release(row)


def list_releases(conn: Connection) -> list[BoundaryRelease]:
    """Every release, oldest first."""
    return [_release(r) for r in conn.execute(text(f"{_SELECT} ORDER BY id"))]


def grid_layer(conn: Connection, release_id: int) -> gpd.GeoDataFrame:
    """The grids of release ``release_id``: code, attributes and geometry (EPSG:4490)."""
    return gpd.read_postgis(
        text(sql("grid_layer")), conn, geom_col="geometry", params={"release": release_id}
    )


def content_hash(grids: gpd.GeoDataFrame) -> str:
    """A fingerprint of a layer's codes and geometries (attributes are not versioned)."""
    digest = hashlib.sha256()
    ordered = grids.sort_values("code")
    for code, geom in zip(ordered["code"], ordered.geometry, strict=True):
        digest.update(str(code).encode())
        digest.update(shapely.to_wkb(shapely.normalize(geom), hex=False, output_dimension=2))
    return digest.hexdigest()


def publish(
    conn: Connection,
    grids: gpd.GeoDataFrame,
    *,
    published_by: str,
    comment: str = "",
    source: str = "",
) -> tuple[BoundaryRelease, bool]:
    """Publish ``grids`` (a validated, complete layer in EPSG:4490) as a new release.

    Runs inside the caller's transaction, so a failure anywhere leaves nothing behind. Grids
    whose geometry did not change keep their geometry row; changed and new grids get new rows;
    grids missing from ``grids`` are retired.

    Returns
    -------
    (BoundaryRelease, bool)
        The release now current, and whether it is new (False: the layer equals the current
        release, nothing was published).
    """
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PUBLISH_LOCK})
    fingerprint = content_hash(grids)
    current = conn.execute(
        text("SELECT id, content_hash FROM boundary_release ORDER BY id DESC LIMIT 1")
    ).one_or_none()
    _upsert_attributes(conn, grids)
    if current is not None and current.content_hash == fingerprint:
        return get_release(conn, current.id), False
    new_id = 1 if current is None else current.id + 1
    conn.execute(
        text(
            "INSERT INTO boundary_release (id, published_by, comment, source, content_hash) "
            "VALUES (:id, :by, :comment, :source, :hash)"
        ),
        {
            "id": new_id,
            "by": published_by,
            "comment": comment,
            "source": source,
            "hash": fingerprint,
        },
    )
    existing = {
        row.grid_code.strip(): shapely.from_wkb(bytes(row.wkb))
        for row in conn.execute(
            text(
                "SELECT grid_code, ST_AsBinary(geom) AS wkb FROM grid_geometry "
                "WHERE valid_to_release IS NULL"
            )
        )
    }
    incoming = dict(zip(grids["code"].astype(str), grids.geometry, strict=True))
    changed = [
        c
        for c, g in incoming.items()
        if c not in existing or not shapely.equals_exact(existing[c], g, 0.0)
    ]
    retired = [c for c in existing if c not in incoming]
    ending = [c for c in changed if c in existing] + retired
    if ending:
        conn.execute(
            text(
                "UPDATE grid_geometry SET valid_to_release = :r "
                "WHERE valid_to_release IS NULL AND grid_code = ANY(:codes)"
            ),
            {"r": new_id, "codes": ending},
        )
    if changed:
        conn.execute(
            text(
                "INSERT INTO grid_geometry (grid_code, valid_from_release, geom) "
                f"VALUES (:code, :r, ST_Multi(ST_GeomFromWKB(:wkb, {STORAGE_SRID})))"
            ),
            [{"code": c, "r": new_id, "wkb": shapely.to_wkb(incoming[c])} for c in changed],
        )
    hooks.release_published(conn, new_id)
    # Delivered on commit: serving processes swap in the new release's snapshot.
    conn.execute(text("SELECT pg_notify('geogrid_release', :id)"), {"id": str(new_id)})
    return get_release(conn, new_id), True


def _upsert_attributes(conn: Connection, grids: gpd.GeoDataFrame) -> None:
    columns = ["code", *GRID_ATTRIBUTES]
    rows = []
    for record in grids.reindex(columns=columns).to_dict("records"):
        rows.append({k: (None if _missing(v) else str(v)) for k, v in record.items()})
    conn.execute(text(sql("upsert_grid")), rows)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value == ""
