"""The invariant checks on tiny hand-drawn layers (no database)."""

from __future__ import annotations

import pytest
import shapely
from shapely import Polygon

from geogrid.boundaries.validation import UnitShape, check_layer

# A 2 x 1 block of lon/lat (about 1.9 km x 1.1 km) as district = street = community, with the
# grid corners as vertices of the district so that shared vertices are exact.
X0, X1, X2, Y0, Y1 = 117.30, 117.31, 117.32, 31.85, 31.86
DISTRICT = Polygon([(X0, Y0), (X1, Y0), (X2, Y0), (X2, Y1), (X1, Y1), (X0, Y1)])
LEFT = Polygon([(X0, Y0), (X1, Y0), (X1, Y1), (X0, Y1)])
RIGHT = Polygon([(X1, Y0), (X2, Y0), (X2, Y1), (X1, Y1)])
C = "340102001001"


def layer(*grids: tuple[str, shapely.Geometry]) -> list[str]:
    district = UnitShape("340102", None, DISTRICT)
    streets = [UnitShape("340102001", "340102", DISTRICT)]
    communities = [UnitShape(C, "340102001", DISTRICT)]
    units = [UnitShape(code, code[:12], geom) for code, geom in grids]
    return sorted({v.rule for v in check_layer(units, communities, streets, district)})


def test_a_clean_tiling_has_no_violation() -> None:
    assert layer((C + "001", LEFT), (C + "002", RIGHT)) == []


def test_a_gap_is_found_and_located() -> None:
    district = UnitShape("340102", None, DISTRICT)
    shrunk = Polygon([(X1, Y0), (X2, Y0), (X2, Y1), (X1 + 0.001, Y1)])
    violations = check_layer(
        [UnitShape(C + "001", C, LEFT), UnitShape(C + "002", C, shrunk)],
        [UnitShape(C, "340102001", DISTRICT)],
        [UnitShape("340102001", "340102", DISTRICT)],
        district,
    )
    gaps = [v for v in violations if v.rule == "gap"]
    assert len(gaps) == 1
    assert gaps[0].area_m2 is not None and gaps[0].area_m2 > 1000
    assert gaps[0].location is not None and gaps[0].location.intersects(
        Polygon([(X1, Y0), (X1 + 0.001, Y1), (X1, Y1)]).buffer(1e-6)
    )


def test_an_overlap_is_found() -> None:
    wide = Polygon([(X1 - 0.001, Y0), (X2, Y0), (X2, Y1), (X1 - 0.001, Y1)])
    assert "overlap" in layer((C + "001", LEFT), (C + "002", wide))


def test_a_grid_outside_its_community_is_found() -> None:
    district = UnitShape("340102", None, DISTRICT)
    streets = [UnitShape("340102001", "340102", DISTRICT)]
    communities = [UnitShape(C, "340102001", LEFT), UnitShape("340102001002", "340102001", RIGHT)]
    grids = [UnitShape(C + "001", C, LEFT), UnitShape(C + "002", C, RIGHT)]
    violations = check_layer(grids, communities, streets, district)
    outside = [v for v in violations if v.rule == "outside_parent"]
    assert [v.codes for v in outside] == [(C + "002", C)]


def test_an_invalid_ring_is_found_with_its_location() -> None:
    bowtie = Polygon([(X1, Y0), (X2, Y1), (X2, Y0), (X1, Y1)])
    district = UnitShape("340102", None, DISTRICT)
    violations = check_layer(
        [UnitShape(C + "001", C, LEFT), UnitShape(C + "002", C, bowtie)],
        [UnitShape(C, "340102001", DISTRICT)],
        [UnitShape("340102001", "340102", DISTRICT)],
        district,
    )
    invalid = [v for v in violations if v.rule == "invalid_geometry"]
    assert len(invalid) == 1
    assert "Self-intersection" in invalid[0].message
    assert invalid[0].location is not None
    assert invalid[0].location.distance(shapely.Point(117.315, 31.855)) < 1e-6


def test_a_grid_in_two_pieces_is_not_contiguous() -> None:
    two = shapely.MultiPolygon(
        [
            Polygon([(X1, Y0), (X2, Y0), (X2, 31.855), (X1, 31.855)]),
            Polygon([(X1, 31.8551), (X2, 31.8551), (X2, Y1), (X1, Y1)]),
        ]
    )
    assert "not_contiguous" in layer((C + "001", LEFT), (C + "002", two))


@pytest.mark.parametrize(
    "code, rule",
    [
        ("34010200100100", "bad_code"),  # 14 digits
        ("340102001002001", "unknown_parent"),  # a community that does not exist
    ],
)
def test_bad_codes(code: str, rule: str) -> None:
    assert rule in layer((C + "001", LEFT), (code, RIGHT))


def test_a_duplicate_code_is_found() -> None:
    assert "duplicate_code" in layer((C + "001", LEFT), (C + "001", RIGHT))


def test_a_sliver_below_tolerance_passes() -> None:
    # A 1 cm shift of one shared vertex: overlap and gap far below 0.01 m2 / 1 m2.
    nudged = Polygon([(X1 + 1e-9, Y0), (X2, Y0), (X2, Y1), (X1, Y1)])
    assert layer((C + "001", LEFT), (C + "002", nudged)) == []
