"""Where each grid of a plan came from: the old grids every new or changed grid holds area of,
with the share of its area each gave. Published with the release (``grid_lineage``) and used
before publishing by the preview (responsibility rows that follow the lineage)."""

from __future__ import annotations

from dataclasses import dataclass

import shapely

from geogrid.plans.geometry import metric_area
from geogrid.plans.layer import Layer

#: Shares below this are floating-point slivers along shared edges, not area given.
SLIVER_SHARE = 1e-4


@dataclass(frozen=True)
class Descent:
    """Grid ``code`` of the new layer holds ``share`` of its area from old grid ``source``."""

    code: str
    source: str
    share: float


def lineage(before: Layer, after: Layer) -> list[Descent]:
    """For every grid of ``after`` that is new or whose outline changed, its sources."""
    old = {c: g["geometry"] for c, g in before.grids.items()}
    codes = list(old)
    tree = shapely.STRtree([old[c] for c in codes])
    found = []
    for code, grid in after.grids.items():
        geom = grid["geometry"]
        if code in old and shapely.equals_exact(old[code], geom, 0.0):
            continue
        area = metric_area(geom)
        for j in tree.query(geom, predicate="intersects"):
            share = metric_area(shapely.intersection(geom, old[codes[j]])) / area
            if share > SLIVER_SHARE:
                found.append(Descent(code, codes[j], min(share, 1.0)))
    return found
