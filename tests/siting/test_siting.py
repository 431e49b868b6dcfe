"""Where to build next: the maximal covering answer, and the API over the demo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine

from geogrid.errors import InvalidInputError
from geogrid.io import loading
from geogrid.lookup.siting import (
    check_siting,
    covered_weight,
    greedy_sites,
    optimal_sites,
    propose_sites,
)
from geogrid.settings import ServiceAreaSettings

# Households of five places: a west end, two in the middle, an east end, and one near the
# middle. Site A reaches west + middle-1, B middle-2 + east, C both middles and the fifth.
WEIGHTS = [5, 3, 3, 5, 3]
REACH = np.array(
    [
        # A  B  C
        [1, 0, 0],  # west, 5
        [1, 0, 1],  # middle-1, 3
        [0, 1, 1],  # middle-2, 3
        [0, 1, 0],  # east, 5
        [0, 0, 1],  # near the middle, 3
    ],
    dtype=bool,
)


def test_the_optimum_beats_the_greedy_choice_on_a_known_case() -> None:
    # greedy takes C (9) first, then A or B (5 more): 14; the optimum is A and B: 16
    greedy = greedy_sites(REACH, WEIGHTS, 2)
    assert greedy[0] == 2 and covered_weight(REACH, WEIGHTS, greedy) == 14
    chosen, optimal = optimal_sites(REACH, WEIGHTS, 2)
    assert sorted(chosen) == [0, 1] and optimal
    assert covered_weight(REACH, WEIGHTS, chosen) == 16
    # with three sites everything is reached
    chosen, _ = optimal_sites(REACH, WEIGHTS, 3)
    assert covered_weight(REACH, WEIGHTS, chosen) == sum(WEIGHTS)


def test_bad_questions_are_refused_naming_what_is_allowed() -> None:
    with pytest.raises(InvalidInputError, match="from 1 to 20"):
        check_siting(0, "party_mass", "compounds")
    with pytest.raises(InvalidInputError, match="must be one of party_mass"):
        check_siting(3, "castle", "compounds")
    with pytest.raises(InvalidInputError, match="compounds, land, h3"):
        check_siting(3, "party_mass", "parks")


def test_sites_on_the_demo_cover_more_and_at_least_as_much_as_greedy(demo_url: str) -> None:
    engine = create_engine(demo_url)
    with engine.connect() as conn:
        found = propose_sites(conn, minutes=5, kind="doorstep", k=3, candidates="compounds")
    assert found.method == "circle" and found.optimal
    assert len(found.sites) == 3
    assert found.covered_after > found.covered_before
    assert found.covered_after >= found.greedy_covered_after
    # each household newly covered is counted for one site
    assert sum(s.households for s in found.sites) == found.covered_after - found.covered_before
    assert all(s.candidate.id.startswith("compound:") for s in found.sites)


def test_on_a_walking_network_sites_are_measured_by_walking(fresh_demo_url: str) -> None:
    paths = Path(__file__).resolve().parents[2] / "data" / "yaohai_demo_paths.gpkg"
    engine = create_engine(fresh_demo_url)
    with engine.begin() as conn:
        loading.load_file(conn, paths, "paths", None, ServiceAreaSettings())
    with engine.connect() as conn:
        found = propose_sites(conn, minutes=5, kind="doorstep", k=2, candidates="h3")
    assert found.method == "network" and found.reach_m == 300
    assert found.sites and all(s.candidate.id.startswith("h3:") for s in found.sites)
    assert found.covered_after >= found.greedy_covered_after > found.covered_before


def test_vacant_land_parcels_are_candidates(fresh_demo_url: str, tmp_path: Path) -> None:
    import geopandas as gpd
    import shapely
    from sqlalchemy import text

    from geogrid.io.files import write_layer

    engine = create_engine(fresh_demo_url)
    with engine.connect() as conn:
        # two parcels: beside the first uncovered compound of the 5-minute tier, and far away
        first = propose_sites(conn, minutes=5, kind="doorstep", k=1, candidates="compounds")
        site = first.sites[0].candidate
        far = conn.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM district) d"
            )
        ).one()
    parcels = gpd.GeoDataFrame(
        {"name": ["空地甲", "空地乙"]},
        geometry=[
            shapely.Point(site.lon, site.lat).buffer(0.0003),
            shapely.Point(far[0] + 0.2, far[1]).buffer(0.0003),  # outside: reaches nothing
        ],
        crs=4490,
    )
    path = write_layer(parcels, tmp_path / "land.gpkg", "land")
    with engine.begin() as conn:
        assert loading.load_file(conn, path, "land", None, ServiceAreaSettings()).features == 2
    with engine.connect() as conn:
        found = propose_sites(conn, minutes=5, kind="doorstep", k=2, candidates="land")
    assert [s.candidate.name for s in found.sites] == ["空地甲"]  # the far one covers nothing
    assert found.candidates_considered == 1 and found.sites[0].households > 0


def test_with_gates_sites_reach_compounds_at_their_gates(fresh_demo_url: str) -> None:
    from geogrid.lookup.coverage import coverage_gaps

    paths = Path(__file__).resolve().parents[2] / "data" / "yaohai_demo_paths.gpkg"
    engine = create_engine(fresh_demo_url)
    with engine.begin() as conn:
        loading.load_file(conn, paths, "gates", None, ServiceAreaSettings())
    with engine.connect() as conn:
        found = propose_sites(conn, minutes=5, kind="doorstep", k=2, candidates="compounds")
        counted = coverage_gaps(conn, minutes=5).tally.households_covered
    assert found.covered_before == counted  # the same measure as coverage's
    assert sum(s.households for s in found.sites) == found.covered_after - found.covered_before > 0
