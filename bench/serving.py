"""Served figures: GET /v1/coverage warm, and how soon a published release is served.

Both ask the bench server (core 0) from this process over loopback.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import geopandas as gpd
import httpx
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Engine

from bench.report import Figure, median
from geogrid.geo.datum import to_metric
from geogrid.io import loading
from geogrid.io.files import write_layer
from geogrid.io.layers import read_layer_from_db
from geogrid.settings import ServiceAreaSettings


def coverage_figures(base: str, warm: int) -> list[Figure]:
    """GET /v1/coverage (the whole district, 15 minutes): the first answer, then warm ones."""
    times = []
    with httpx.Client(base_url=base, timeout=60) as client:
        for _ in range(warm + 1):
            started = time.perf_counter()
            client.get("/v1/coverage").raise_for_status()
            times.append((time.perf_counter() - started) * 1e3)
    return [
        Figure(
            "GET /v1/coverage warm",
            median(times[1:]),
            "ms",
            goal=("<", 200.0),
            note=f"median of {warm}; max {max(times[1:]):.0f} ms; first {times[0]:.0f} ms",
        ),
    ]


def moved_strip(grids: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, str, BaseGeometry]:
    """The layer with a ~20 m strip along a long shared edge moved to the neighbour.

    Returns the new layer, the grid that gains the strip and a point inside the strip.
    """
    metric = [to_metric(g) for g in grids.geometry]
    tree = shapely.STRtree(metric)
    left, right = tree.query(metric, predicate="intersects")
    community = grids["community_code"].tolist()
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i >= j or community[i] != community[j]:
            continue
        if metric[i].intersection(metric[j]).length < 300:
            continue
        edge = grids.geometry.iloc[i].intersection(grids.geometry.iloc[j])
        strip = grids.geometry.iloc[j].intersection(edge.buffer(0.0002))
        gained = shapely.union(grids.geometry.iloc[i], strip)
        lost = shapely.difference(grids.geometry.iloc[j], strip)
        if (
            shapely.get_num_geometries(gained) == 1 == shapely.get_num_geometries(lost)
            and to_metric(gained).is_valid
            and to_metric(lost).is_valid
        ):
            geoms = list(grids.geometry)
            geoms[i] = shapely.MultiPolygon(shapely.get_parts(gained))
            geoms[j] = shapely.MultiPolygon(shapely.get_parts(lost))
            moved = geoms[i].difference(grids.geometry.iloc[i])
            return (
                grids.set_geometry(geoms, crs=grids.crs),
                str(grids["code"].iloc[i]),
                moved.representative_point(),
            )
    raise RuntimeError("no pair of neighbouring grids to move a strip between")


def publish_figures(base: str, engine: Engine, timeout_s: float = 10.0) -> list[Figure]:
    """Publish a changed grid layer with loading.load_file; time until the server answers
    from it (release number and the moved strip's new grid)."""
    with engine.connect() as conn:
        grids = read_layer_from_db(conn, "grids")
    changed, gainer, point = moved_strip(grids)
    params = {"lon": point.x, "lat": point.y, "crs": "cgcs2000"}
    with (
        tempfile.TemporaryDirectory(prefix="geogrid-bench-") as tmp,
        httpx.Client(base_url=base, timeout=10) as client,
    ):
        before = client.get("/v1/locate", params=params).json()["release"]
        path = write_layer(changed, Path(tmp) / "grids.gpkg", "grids")
        started = time.perf_counter()
        with engine.begin() as conn:
            report = loading.load_file(conn, path, "grids", "cgcs2000", ServiceAreaSettings())
        committed = time.perf_counter()
        while True:
            answer = client.get("/v1/locate", params=params).json()
            served = time.perf_counter()
            if answer["release"] == report.release or served - committed > timeout_s:
                break
    if answer["release"] != report.release or answer["grid"]["code"] != gainer:
        raise AssertionError(
            f"release {report.release} was not served within {timeout_s} s "
            f"(still release {answer['release']}, was {before})"
        )
    return [
        Figure(
            "publish -> served (GET /v1/locate answers the new release)",
            served - committed,
            "s",
            goal=("<=", 1.0),
            note="from commit",
        ),
        Figure(
            "load_file of the grid layer (validate + publish)",
            committed - started,
            "s",
            note=f"{len(changed)} grids",
        ),
    ]
