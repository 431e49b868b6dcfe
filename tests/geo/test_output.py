"""Geometries as answers give them: converted, rounded, and wound as RFC 7946 says."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon

from geogrid.geo.output import output_geometries

#: A square with a square hole, both rings wound against RFC 7946 (exterior clockwise, hole
#: counter-clockwise).
OUTER_CW = [(117.0, 31.0), (117.0, 31.1), (117.1, 31.1), (117.1, 31.0)]
HOLE_CCW = [(117.04, 31.04), (117.06, 31.04), (117.06, 31.06), (117.04, 31.06)]


def _rfc7946(geometry: shapely.Geometry) -> bool:
    polygons = shapely.get_parts(geometry)
    return all(p.exterior.is_ccw and not any(ring.is_ccw for ring in p.interiors) for p in polygons)


@pytest.mark.parametrize("crs", ["wgs84", "cgcs2000", "gcj02", "bd09"])
@pytest.mark.parametrize(
    "shape",
    [
        Polygon(OUTER_CW),
        Polygon(OUTER_CW, [HOLE_CCW]),
        Polygon(OUTER_CW[::-1], [HOLE_CCW[::-1]]),  # already right: stays right
        MultiPolygon(
            [Polygon(OUTER_CW, [HOLE_CCW]), Polygon([(118, 31), (118, 31.1), (118.1, 31)])]
        ),
    ],
    ids=["clockwise", "with-hole", "already-ccw", "multi"],
)
def test_exteriors_come_counter_clockwise_and_holes_clockwise(
    shape: shapely.Geometry, crs: str
) -> None:
    [out] = output_geometries([shape], crs)
    assert _rfc7946(out)
    assert out.geom_type == shape.geom_type
    assert shapely.get_num_interior_rings(shapely.get_parts(out)).tolist() == (
        shapely.get_num_interior_rings(shapely.get_parts(shape)).tolist()
    )


def test_orienting_keeps_the_shape_and_leaves_points_and_lines_alone() -> None:
    line = shapely.LineString([(117.1, 31.1), (117.0, 31.0)])
    point = shapely.Point(117.05, 31.05)
    square = Polygon(OUTER_CW, [HOLE_CCW])
    out_square, out_line, out_point = output_geometries([square, line, point], "cgcs2000")
    assert out_square.equals(square)  # the same set of points, only the order of vertices
    assert list(out_line.coords) == list(line.coords)
    assert out_point.equals(point)


def test_no_geometries_is_an_empty_list() -> None:
    assert output_geometries([], "wgs84") == []
