"""The Yaohai demo file (data/yaohai_demo.gpkg) on its own: counts, codes, nesting, tiling.

No database: reads the GeoPackage with pyogrio and measures in EPSG:4548 metres (via
``geogrid.geo.datum.to_metric``). Regenerate the file with ``python data/generate.py``.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections import defaultdict
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import shape

from geogrid.geo.datum import geometry_to_storage, to_metric

DATA = Path(__file__).resolve().parents[2] / "data"
GPKG = DATA / "yaohai_demo.gpkg"
SOURCES = DATA / "sources"
LAYERS = ("district", "streets", "communities", "grids", "compounds", "stations")
COLUMNS = {
    "district": ["code", "name"],
    "streets": ["code", "name", "kind"],
    "communities": ["code", "name", "short_name", "street_code"],
    "grids": [
        "code",
        "name",
        "kind",
        "dedicated_unit_name",
        "dedicated_unit_type",
        "community_code",
        "leader_name",
        "leader_phone",
        "party_branch_name",
        "party_secretary_name",
        "party_secretary_phone",
    ],
    "compounds": ["id", "name", "kind", "households", "population", "smart_safe", "three_no"],
    "stations": ["id", "name", "kind", "community_code", "opening_hours", "address"],
}
EAST = ("340102100", "340102401")  # 大兴镇, 龙岗
UNIT_TYPES = {
    "school",
    "hospital",
    "market",
    "transport",
    "industrial_park",
    "government",
    "enterprise",
}
STATION_KINDS = {"party_mass", "doorstep", "courier_rest", "happiness", "mediation", "legal"}
RADIUS_15MIN = 1000.0 / 1.3
PHONE = re.compile(r"^1[3-9]\d{9}$")


@pytest.fixture(scope="module")
def L() -> dict[str, gpd.GeoDataFrame]:
    assert GPKG.exists(), "run: python data/generate.py"
    return {n: gpd.read_file(GPKG, layer=n, engine="pyogrio") for n in LAYERS}


@pytest.fixture(scope="module")
def M(L) -> dict[str, np.ndarray]:
    """Every layer's geometries in EPSG:4548 metres."""
    return {
        n: np.array([to_metric(g) for g in df.geometry.values], dtype=object) for n, df in L.items()
    }


def _csv(name: str) -> list[dict[str, str]]:
    with open(SOURCES / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _tiling(parts: np.ndarray, whole) -> tuple[float, float]:
    """(area of union Δ whole, largest pairwise overlap), m²."""
    delta = shapely.symmetric_difference(shapely.union_all(parts), whole).area
    i, j = shapely.STRtree(parts).query(parts, predicate="intersects")
    m = i < j
    ov = shapely.area(shapely.intersection(parts[i[m]], parts[j[m]]))
    return delta, float(ov.max()) if len(ov) else 0.0


def _grid_of_compounds(M) -> np.ndarray:
    pos = shapely.point_on_surface(M["compounds"])
    pi, gi = shapely.STRtree(M["grids"]).query(pos, predicate="within")
    assert sorted(pi.tolist()) == list(range(len(pos))), "a compound is not in exactly one grid"
    out = np.empty(len(pos), int)
    out[pi] = gi
    return out


# ---------------------------------------------------------------------------------------------


def test_layers_columns_and_crs(L):
    assert [n for n, _ in pyogrio.list_layers(GPKG)] == list(LAYERS)
    for n, df in L.items():
        assert df.crs.to_epsg() == 4490, n
        assert list(df.columns) == [*COLUMNS[n], "geometry"], n
        kinds = set(df.geom_type)
        assert kinds == ({"Point"} if n == "stations" else {"MultiPolygon"}), (n, kinds)


def test_exact_counts(L):
    assert len(L["district"]) == 1
    assert L["district"].code.tolist() == ["340102"] and L["district"].name.tolist() == ["瑶海区"]
    assert len(L["streets"]) == 13
    assert len(L["communities"]) == 66
    g = L["grids"]
    assert len(g) == 596
    assert (g.kind == "resident").sum() == 520 and (g.kind == "dedicated").sum() == 76
    k = L["compounds"]
    assert len(k) == 640
    assert (k.kind == "organised").sum() == 556 and (k.kind == "scattered").sum() == 84
    assert k.smart_safe.sum() == 613
    assert k.three_no.sum() == 104
    assert not (k.three_no & ~k.smart_safe).any(), "a three-no compound that is not smart-safe"
    assert k.id.tolist() == list(range(1, 641))


def test_codes_and_names_match_the_official_lists(L):
    s, c = L["streets"], L["communities"]
    src_s = _csv("yaohai_340102_streets_2023.csv")
    src_c = _csv("yaohai_340102_communities_2023.csv")
    assert sorted(zip(s.code, s.name, strict=True)) == sorted((r["code"], r["name"]) for r in src_s)
    assert sorted(zip(c.code, c.name, c.street_code, strict=True)) == sorted(
        (r["code"], r["name"], r["street_code"]) for r in src_c
    )
    assert all(re.fullmatch(r"340102\d{3}", x) for x in s.code)
    assert all(re.fullmatch(r"340102\d{6}", x) for x in c.code)
    assert all(cc.startswith(sc) for cc, sc in zip(c.code, c.street_code, strict=True))
    assert dict(zip(s.code, s.kind, strict=True)) == {
        x: {"340102100": "town", "340102401": "zone"}.get(x, "street") for x in s.code
    }
    assert all(n.endswith("社区居委会") for n in c.name)
    assert (c.short_name == c.name.str.removesuffix("居委会")).all()


def test_grid_codes_fields_and_people(L):
    g, c = L["grids"], L["communities"]
    assert g.code.is_unique and g.name.is_unique
    assert all(re.fullmatch(r"340102\d{9}", x) for x in g.code)
    assert (g.code.str[:12] == g.community_code).all()
    assert set(g.community_code) == set(c.code)
    short = dict(zip(c.code, c.short_name, strict=True))
    per = g.groupby("community_code").code.apply(sorted)
    for code, codes in per.items():
        assert len(codes) >= 3
        assert [x[12:] for x in codes] == [f"{i:03d}" for i in range(1, len(codes) + 1)], code
    for row in g.itertuples():
        if row.kind == "resident":
            assert row.name == f"{short[row.community_code]}第{int(row.code[12:])}网格"
            assert pd.isna(row.dedicated_unit_name) and pd.isna(row.dedicated_unit_type)
        else:
            assert row.kind == "dedicated"
            assert row.dedicated_unit_type in UNIT_TYPES
            assert row.name == f"{row.dedicated_unit_name}专属网格"
        assert row.party_branch_name == row.name + "党支部"
        for phone in (row.leader_phone, row.party_secretary_phone):
            assert PHONE.match(phone), phone
        for person in (row.leader_name, row.party_secretary_name):
            assert 2 <= len(person) <= 3
    # industrial parks mostly in 龙岗
    parks = g[g.dedicated_unit_type == "industrial_park"]
    assert (parks.community_code.str[:9] == "340102401").mean() > 0.5


def test_grid_numbering_is_reading_order(L, M):
    """Rows north to south (row height sqrt(community area / grids)), west to east in a row."""
    g, c = L["grids"], L["communities"]
    comm = dict(zip(c.code, M["communities"], strict=True))
    by_comm = defaultdict(list)
    for code, cc, geom in zip(g.code, g.community_code, M["grids"], strict=True):
        by_comm[cc].append((code, geom))
    for cc, items in by_comm.items():
        h = math.sqrt(comm[cc].area / len(items))
        top = comm[cc].bounds[3]
        keys = []
        for code, geom in items:
            x, y = geom.centroid.coords[0]
            keys.append((math.floor((top - y) / h), x, code))
        assert [k[2] for k in sorted(keys)] == sorted(code for code, _ in items), cc


def test_every_geometry_is_valid_and_grids_are_single_parts(L):
    for n, df in L.items():
        assert shapely.is_valid(df.geometry.values).all(), n
        assert not shapely.is_empty(df.geometry.values).any(), n
    assert all(len(p.geoms) == 1 for p in L["grids"].geometry.values)
    assert all(len(p.geoms) == 1 for p in L["compounds"].geometry.values)


def test_district_is_the_real_boundary(M):
    gj = json.loads((SOURCES / "yaohai_340102_gcj02.geojson").read_text(encoding="utf-8"))
    src = to_metric(geometry_to_storage(shape(gj), "gcj02"))
    assert shapely.symmetric_difference(src, M["district"][0]).area < 1.0
    assert 220e6 < M["district"][0].area < 226e6


@pytest.mark.parametrize("layer", ["grids", "communities", "streets"])
def test_layer_tiles_the_district(M, layer):
    delta, overlap = _tiling(M[layer], M["district"][0])
    assert delta < 1.0, f"union differs from the district by {delta} m²"
    assert overlap < 0.01, f"overlap {overlap} m²"


def test_nesting(L, M):
    g, c, s = L["grids"], L["communities"], L["streets"]
    comm = dict(zip(c.code, M["communities"], strict=True))
    street = dict(zip(s.code, M["streets"], strict=True))
    for code, geom in zip(g.community_code, M["grids"], strict=True):
        assert geom.difference(comm[code].buffer(0.5)).area < 1e-3
    for code, geom in zip(c.street_code, M["communities"], strict=True):
        assert geom.difference(street[code].buffer(0.5)).area < 1e-3
    for geom in M["streets"]:
        assert geom.difference(M["district"][0].buffer(0.5)).area < 1e-3
    # exactly one community: no other community overlaps a grid
    i, j = shapely.STRtree(M["communities"]).query(M["grids"], predicate="intersects")
    ov = shapely.area(shapely.intersection(M["grids"][i], M["communities"][j]))
    other = c.code.values[j] != g.community_code.values[i]
    assert ov[other].max() < 0.01
    # streets tiled by their communities, communities by their grids
    for code, geom in street.items():
        delta, overlap = _tiling(M["communities"][(c.street_code == code).values], geom)
        assert delta < 1.0 and overlap < 0.01, code
    for code, geom in comm.items():
        delta, overlap = _tiling(M["grids"][(g.community_code == code).values], geom)
        assert delta < 1.0 and overlap < 0.01, code


def test_shared_edges_share_vertices(L):
    """A vertex of one grid lying on another grid's boundary is a vertex of that grid too."""
    polys = L["grids"].geometry.values
    coords, idx = shapely.get_coordinates(polys, return_index=True)
    own = defaultdict(set)
    for xy, gi in zip(map(tuple, coords), idx.tolist(), strict=True):
        own[gi].add(xy)
    uniq = np.unique(coords, axis=0)
    pi, gi = shapely.STRtree(shapely.boundary(polys)).query(
        shapely.points(uniq), predicate="dwithin", distance=1e-9
    )
    missing = [
        (tuple(uniq[p]), g) for p, g in zip(pi, gi, strict=True) if tuple(uniq[p]) not in own[g]
    ]
    assert not missing, f"{len(missing)} T-junctions, e.g. {missing[:3]}"


def test_west_is_finer_than_east(L, M):
    g, c = L["grids"], L["communities"]
    g_east = g.community_code.str[:9].isin(EAST).values
    c_east = c.street_code.isin(EAST).values
    ga, ca = shapely.area(M["grids"]), shapely.area(M["communities"])
    assert ga[~g_east].mean() * 3 < ga[g_east].mean()
    assert ca[~c_east].mean() * 3 < ca[c_east].mean()
    west_x = shapely.get_coordinates(shapely.centroid(M["communities"][~c_east]))[:, 0]
    east_x = shapely.get_coordinates(shapely.centroid(M["communities"][c_east]))[:, 0]
    assert west_x.mean() < east_x.mean()


def test_compounds_inside_resident_grids(L, M):
    g, k = L["grids"], L["compounds"]
    grid_of = _grid_of_compounds(M)
    outside = shapely.area(shapely.difference(M["compounds"], M["grids"][grid_of]))
    assert outside.max() < 1e-3, "a compound crosses its grid's boundary"
    assert (g.kind.values[grid_of] == "resident").all()
    i, j = shapely.STRtree(M["compounds"]).query(M["compounds"], predicate="intersects")
    assert (i == j).all(), "compounds overlap"
    hh = np.bincount(grid_of, weights=k.households.values, minlength=len(g))
    resident = (g.kind == "resident").values
    assert (hh[resident] > 0).all(), "a resident grid without compounds"
    assert ((hh[resident] >= 300) & (hh[resident] <= 700)).mean() >= 0.9
    assert (hh[~resident] == 0).all()


def test_compound_attributes_and_footprints(L, M):
    k = L["compounds"]
    assert k.name.is_unique
    assert (k.households > 0).all()
    ratio = k.population / k.households
    assert ratio.between(2.3, 2.9).all()
    env = shapely.oriented_envelope(M["compounds"])
    longest = []
    for e in env:
        xy = np.asarray(e.exterior.coords)
        longest.append(np.hypot(*np.diff(xy, axis=0).T).max())
    longest = np.array(longest)
    org = (k.kind == "organised").values
    assert longest[org].min() >= 40 and longest[org].max() <= 350
    assert longest[~org].min() >= 15 and longest[~org].max() <= 60


def test_stations(L, M):
    st, c = L["stations"], L["communities"]
    assert st.id.tolist() == list(range(1, len(st) + 1))
    assert set(st.kind) == STATION_KINDS
    assert st.name.is_unique
    comm = dict(zip(c.code, M["communities"], strict=True))
    for code, pt in zip(st.community_code, M["stations"], strict=True):
        assert comm[code].contains(pt), code
    pm = st[st.kind == "party_mass"]
    assert len(pm) == 66 and set(pm.community_code) == set(c.code)
    short = dict(zip(c.code, c.short_name, strict=True))
    assert all(
        n == short[cc] + "左邻右舍党群服务站"
        for n, cc in zip(pm.name, pm.community_code, strict=True)
    )
    counts = st.kind.value_counts()
    for kind, (lo, hi) in {
        "doorstep": (25, 40),
        "courier_rest": (12, 20),
        "happiness": (15, 25),
        "mediation": (20, 30),
        "legal": (10, 15),
    }.items():
        assert lo <= counts[kind] <= hi, kind
    assert (st.opening_hours[st.kind == "courier_rest"] == "Mo-Su 00:00-24:00").all()
    assert st.opening_hours.str.fullmatch(r"[A-Za-z ,\-:;0-9]+").all()
    assert st.address.str.startswith("安徽省合肥市瑶海区").all()


def test_15_minute_coverage_leaves_gaps_mostly_in_the_east(L, M):
    g, k = L["grids"], L["compounds"]
    grid_of = _grid_of_compounds(M)
    pos = shapely.point_on_surface(M["compounds"])
    ci, _ = shapely.STRtree(M["stations"]).query(pos, predicate="dwithin", distance=RADIUS_15MIN)
    covered = np.zeros(len(k), bool)
    covered[ci] = True
    hh = k.households.values
    street = g.community_code.str[:9].values[grid_of]
    share = {s: hh[(street == s) & covered].sum() / hh[street == s].sum() for s in set(street)}
    overall = hh[covered].sum() / hh.sum()
    assert 0.75 <= overall <= 0.92, overall
    west = [v for s, v in share.items() if s not in EAST]
    assert max(share[e] for e in EAST) < min(west)


def test_named_places(L, M):
    g, k, st, c = L["grids"], L["compounds"], L["stations"], L["communities"]
    grid_of = _grid_of_compounds(M)
    comm_of = dict(zip(k.name, g.community_code.values[grid_of], strict=True))
    kind_of = dict(zip(k.name, k.kind, strict=True))
    for name, where in {
        "恒通小区": "340102006004",
        "长春都市花园": "340102011007",
        "窑湾村": "340102003",
        "淮北新村": "340102004004",
    }.items():
        assert name in comm_of, name
        assert comm_of[name].startswith(where), (name, comm_of[name])
        assert kind_of[name] == "organised"
    stations = {r.name: r for r in st.itertuples()}
    for name, kind, where in [
        ("暖宝幸福驿站", "happiness", "340102006004"),
        ("左邻右舍百姓说事点", "mediation", "340102004005"),
        ("红星为民法治e站", "legal", "340102010"),
        ("胜利社区家门口服务站", "doorstep", "340102011002"),
        ("恒通社区左邻右舍党群服务站", "party_mass", "340102006004"),
    ]:
        assert name in stations, name
        assert stations[name].kind == kind
        assert stations[name].community_code.startswith(where)
    assert "合肥站专属网格" in set(g.name)
    assert "合肥东站专属网格" in set(g.name)
    # 合肥站 (117.3128E 31.8828N) is in 火车站社区
    station = to_metric(shapely.Point(117.3128, 31.8828))
    hcz = M["communities"][(c.code == "340102011004").values][0]
    assert hcz.contains(station)
