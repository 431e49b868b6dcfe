#!/usr/bin/env python
"""Generate the Yaohai grid-governance demo dataset: ``data/yaohai_demo.gpkg``.

Run from the repository root::

    .venv/bin/python data/generate.py

Real inputs (``data/sources/``): the district boundary of 瑶海区 (GCJ-02, converted here to
EPSG:4490 with the iterative inverse of ``geogrid.geo.datum``) and the official names and codes of
its 13 streets/towns/zones and 66 communities. Everything else (street, community and grid
polygons, compounds, stations, people and phone numbers) is generated, deterministically from
``numpy.random.default_rng(340102)``. See ``data/README.md``.

Construction (all in EPSG:4548 metres, converted vertex by vertex to EPSG:4490 at the end):

1. *Atoms*: a Voronoi diagram of ~13 000 points, denser in the old town (west), noded with the
   district boundary and polygonised. Streets and then communities are unions of atoms, chosen
   by a power diagram (weighted nearest seed) fitted to target areas (old town / 大兴镇 / 龙岗),
   plain Voronoi (old-town streets) and k-means seeds fitted to target areas (communities), so
   their borders are irregular rather than straight. The community coverage is then smoothed
   with a topology-preserving ``shapely.coverage_simplify`` (district boundary untouched),
   before any grid line exists.
2. *Grids*: per community, dedicated carve-outs (rotated rectangles) and Voronoi cells of
   Lloyd-relaxed resident seeds. All linework (community borders, carve-outs, Voronoi edges
   overshooting their community by 2 m) is noded once and polygonised into faces; every face
   is labelled community -> grid by its representative point, and every unit is the coverage
   union of its faces, so neighbours share identical vertices and nothing overlaps or gaps.
3. Detached pieces are handed to the neighbour (same parent) with the longest shared border:
   streets, then communities, then grids. Nothing is simplified after assembly.
4. Compounds are placed inside resident grids, stations near compounds; invariants are
   asserted at the end and the 15-minute coverage per street is printed.
"""

from __future__ import annotations

import csv
import json
import math
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, shape

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from geogrid.geo.datum import from_metric, geometry_to_storage, to_metric  # noqa: E402

SEED = 340102
SOURCES = ROOT / "data" / "sources"
OUT = ROOT / "data" / "yaohai_demo.gpkg"
STORAGE_CRS = "EPSG:4490"

N_GRIDS = 596
N_DEDICATED = 76
N_ORGANISED = 556
N_SCATTERED = 84
N_SMART_SAFE = 613
N_THREE_NO = 104
CIRCLE_15MIN_M = 1000.0 / 1.3  # GB 50180-2018 15-minute walk / default detour factor
OVERSHOOT_M = 0.2  # grid Voronoi edges run this far past their community border before noding
COMMUNITY_SIMPLIFY_M = 40.0  # coverage simplification of the atom-made community borders

# Old-town centre (EPSG:4548), just south of 合肥站; urbanisation falls off with distance.
OLD_TOWN = (529700.0, 3527300.0)

# Streets. The district is first split three ways by a power diagram fitted to target areas:
# the old town (west, around 合肥站), 大兴镇 (east/south-east) and 龙岗 (north-east and the long
# northern part). The 11 old-town streets are then Voronoi cells within the old town, of seeds
# started at these relative positions in the old town's bounding box (0,0 = south-west corner)
# and relaxed a few Lloyd steps, so that each street keeps its place and contains its seed.
REGION_SEEDS = {
    "old_town": (529800.0, 3528600.0),
    "340102100": (537000.0, 3527000.0),  # 大兴镇
    "340102401": (533000.0, 3540000.0),  # 龙岗
}
OLD_TOWN_LAYOUT = {
    "340102014": (0.45, 0.90),  # 嘉山路, north of the station
    "340102003": (0.12, 0.62),  # 胜利路, west edge
    "340102011": None,  # 长淮: starts at 合肥站
    "340102007": (0.72, 0.70),  # 红光
    "340102010": (0.90, 0.52),  # 城东
    "340102001": (0.10, 0.40),  # 明光路, west edge
    "340102004": (0.38, 0.42),  # 三里街
    "340102006": (0.66, 0.45),  # 七里站
    "340102008": (0.30, 0.20),  # 和平路
    "340102005": (0.55, 0.25),  # 铜陵路
    "340102012": (0.78, 0.18),  # 方庙
}
OLD_TOWN_KM2 = 44.0
DAXING_KM2 = 70.0  # 龙岗 takes the rest (~109 km²)
STREET_KIND = {"340102100": "town", "340102401": "zone"}
EAST_UNITS = ("340102100", "340102401")
HEFEI_STATION = (117.3128, 31.8828)  # 合肥站, approximate (EPSG:4490 lon, lat)
WEST_GRIDS = 420  # grids in the 11 old-town streets (48 communities); 176 in 大兴镇 and 龙岗


# ----------------------------------------------------------------------------------------------
# small helpers


def urban(x: np.ndarray | float, y: np.ndarray | float) -> np.ndarray:
    """Urbanisation 0..1: 1 in the old town, falling off eastwards and northwards."""
    d = np.hypot(np.asarray(x) - OLD_TOWN[0], (np.asarray(y) - OLD_TOWN[1]) * 0.9)
    return 0.04 + 0.96 * np.exp(-((d / 4600.0) ** 2))


def sample_in(poly, n: int, rng: np.random.Generator, accept=None) -> np.ndarray:
    """``n`` random points inside ``poly`` (rejection sampling), optional acceptance fn."""
    if n <= 0:
        return np.zeros((0, 2))
    minx, miny, maxx, maxy = poly.bounds
    shapely.prepare(poly)
    got: list[np.ndarray] = []
    count = 0
    tries = 0
    while count < n:
        k = max(256, 4 * (n - count))
        xs = rng.uniform(minx, maxx, k)
        ys = rng.uniform(miny, maxy, k)
        ok = shapely.contains_xy(poly, xs, ys)
        if accept is not None:
            ok &= rng.uniform(0.0, 1.0, k) < accept(xs, ys)
        pts = np.column_stack([xs[ok], ys[ok]])
        got.append(pts)
        count += len(pts)
        tries += 1
        if tries > 2000:
            raise RuntimeError("sampling failed: region too small")
    return np.concatenate(got)[:n]


def polygon_parts(geom) -> list[Polygon]:
    if geom is None or geom.is_empty:
        return []
    if geom.geom_type == "Polygon":
        return [geom]
    return [g for g in getattr(geom, "geoms", []) if g.geom_type == "Polygon" and not g.is_empty]


def as_multi(geom) -> MultiPolygon:
    parts = polygon_parts(geom)
    return MultiPolygon(parts)


def faces_from_lines(lines) -> np.ndarray:
    """Node all lines once and polygonise them into faces."""
    noded = shapely.union_all(np.asarray(lines, dtype=object))
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    return faces[~shapely.is_empty(faces)]


def adjacency(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i < j) of faces sharing a border of positive length, and that length."""
    tree = shapely.STRtree(faces)
    i, j = tree.query(faces, predicate="intersects")
    m = i < j
    i, j = i[m], j[m]
    bi = shapely.boundary(faces)
    length = shapely.length(shapely.intersection(bi[i], bi[j]))
    m = length > 1e-6
    return i[m], j[m], length[m]


def components(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Connected-component id per node of an undirected graph (union-find)."""
    parent = np.arange(n)

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b in zip(i.tolist(), j.tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra != rb:
            if ra < rb:
                parent[rb] = ra
            else:
                parent[ra] = rb
    return np.array([find(a) for a in range(n)])


def make_contiguous(
    labels: np.ndarray,
    parent_of_face: np.ndarray,
    area: np.ndarray,
    adj: tuple[np.ndarray, np.ndarray, np.ndarray],
    prefer=None,
) -> tuple[np.ndarray, int]:
    """Relabel detached face groups to the neighbour (same parent) with the longest border.

    ``labels`` are unit ids per face, ``parent_of_face`` the parent unit of each face (faces
    never move across parents). Each unit keeps its largest connected piece. ``prefer(label)``
    may rank candidate neighbours (higher first) before border length.
    """
    labels = labels.copy()
    ai, aj, alen = adj
    moved = 0
    for _ in range(50):
        same = labels[ai] == labels[aj]
        comp = components(len(labels), ai[same], aj[same])
        # area per (label, component)
        best: dict[int, tuple[float, int]] = {}
        comp_area: dict[int, float] = defaultdict(float)
        for f in range(len(labels)):
            comp_area[comp[f]] += area[f]
        for c, a in sorted(comp_area.items()):
            lab = labels[c]
            if lab not in best or a > best[lab][0]:
                best[lab] = (a, c)
        keep = {c for _, c in best.values()}
        detached = sorted(c for c in comp_area if c not in keep)
        if not detached:
            return labels, moved
        # border length from each detached component to neighbouring labels (same parent)
        border: dict[int, dict[int, float]] = defaultdict(lambda: defaultdict(float))
        for a, b, ln in zip(ai.tolist(), aj.tolist(), alen.tolist(), strict=True):
            ca, cb = comp[a], comp[b]
            if ca == cb or parent_of_face[a] != parent_of_face[b]:
                continue
            if ca not in keep:
                border[ca][labels[b]] += ln
            if cb not in keep:
                border[cb][labels[a]] += ln
        changed = False
        for c in detached:
            cand = {k: v for k, v in border[c].items() if k != labels[c]}
            if not cand:
                continue
            target = max(cand, key=lambda k, cand=cand: (prefer(k) if prefer else 0, cand[k], -k))
            members = comp == c
            labels[members] = target
            moved += int(members.sum())
            changed = True
        if not changed:
            raise RuntimeError("detached pieces without a neighbour of the same parent")
    raise RuntimeError("make_contiguous did not converge")


def power_assign(xy: np.ndarray, seeds: np.ndarray, w: np.ndarray) -> np.ndarray:
    d = ((xy[:, None, :] - seeds[None, :, :]) ** 2).sum(axis=2) - w[None, :]
    return np.argmin(d, axis=1)


def fit_power(
    xy: np.ndarray, area: np.ndarray, seeds: np.ndarray, target: np.ndarray, iters: int = 300
) -> np.ndarray:
    """Power-diagram labels of points ``xy`` whose label areas approach ``target``."""
    w = np.zeros(len(seeds))
    lab = power_assign(xy, seeds, w)
    for _ in range(iters):
        got = np.bincount(lab, weights=area, minlength=len(seeds))
        err = target - got
        if np.max(np.abs(err) / target) < 0.02:
            break
        w += 0.35 * err
        lab = power_assign(xy, seeds, w)
    return lab


def lloyd_seeds(
    xy: np.ndarray, area: np.ndarray, k: int, rng: np.random.Generator, iters: int = 12
) -> np.ndarray:
    """k-means (area weighted) seeds over points ``xy``."""
    idx = rng.choice(len(xy), size=k, replace=False, p=area / area.sum())
    seeds = xy[idx].copy()
    for _ in range(iters):
        lab = power_assign(xy, seeds, np.zeros(k))
        for c in range(k):
            m = lab == c
            if m.any():
                seeds[c] = (xy[m] * area[m, None]).sum(axis=0) / area[m].sum()
    return seeds


# ----------------------------------------------------------------------------------------------
# inputs


def read_csv(name: str) -> list[dict[str, str]]:
    with open(SOURCES / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def load_inputs():
    gj = json.loads((SOURCES / "yaohai_340102_gcj02.geojson").read_text(encoding="utf-8"))
    gcj = shape(gj)
    storage = geometry_to_storage(gcj, "gcj02")
    metric = to_metric(storage)
    parts = polygon_parts(metric)
    assert len(parts) == 1, "expected one polygon"
    district = shapely.normalize(parts[0])
    streets = read_csv("yaohai_340102_streets_2023.csv")
    communities = read_csv("yaohai_340102_communities_2023.csv")
    assert len(streets) == 13 and len(communities) == 66
    return district, streets, communities


# ----------------------------------------------------------------------------------------------
# streets and communities from atoms


def build_atoms(district: Polygon, rng: np.random.Generator, n: int = 13000) -> np.ndarray:
    def accept(x, y):
        spacing = 60.0 + 190.0 * (1.0 - urban(x, y))
        return (60.0 / spacing) ** 2

    pts = sample_in(district, n, rng, accept)
    edges = shapely.voronoi_polygons(
        shapely.multipoints(pts), extend_to=district.envelope.buffer(1000.0), only_edges=True
    )
    faces = faces_from_lines([edges, district.exterior])
    inside = shapely.contains(district, shapely.point_on_surface(faces))
    return faces[inside]


def build_divisions(district, streets, communities, rng):
    """Label atoms with a street and a community; return atoms and labels."""
    atoms = build_atoms(district, rng)
    area = shapely.area(atoms)
    cen = shapely.get_coordinates(shapely.centroid(atoms))
    adj = adjacency(atoms)

    codes = [s["code"] for s in streets]
    region_seeds = np.array(list(REGION_SEEDS.values()))
    target = np.array([OLD_TOWN_KM2 * 1e6, DAXING_KM2 * 1e6, 0.0])
    target[2] = district.area - target[:2].sum()
    region = fit_power(cen, area, region_seeds, target)
    region, _ = make_contiguous(region, np.zeros(len(atoms), int), area, adj)
    old = region == 0
    x0, y0 = cen[old].min(axis=0)
    x1, y1 = cen[old].max(axis=0)
    station = np.array(to_metric(Point(*HEFEI_STATION)).coords[0])
    west_codes = list(OLD_TOWN_LAYOUT)
    seeds = np.array(
        [
            station if uv is None else (x0 + uv[0] * (x1 - x0), y0 + uv[1] * (y1 - y0))
            for uv in OLD_TOWN_LAYOUT.values()
        ]
    )
    for _ in range(4):  # Lloyd steps over the old town's atoms
        lab = power_assign(cen[old], seeds, np.zeros(len(seeds)))
        for q in range(len(seeds)):
            m = lab == q
            seeds[q] = (cen[old][m] * area[old][m, None]).sum(axis=0) / area[old][m].sum()
    street_lab = np.empty(len(atoms), int)
    lab = power_assign(cen[old], seeds, np.zeros(len(seeds)))
    street_lab[old] = np.array([codes.index(c) for c in west_codes])[lab]
    street_lab[region == 1] = codes.index("340102100")
    street_lab[region == 2] = codes.index("340102401")
    street_lab, _ = make_contiguous(street_lab, region, area, adj)

    comm_lab = np.full(len(atoms), -1)
    comm_codes = [c["code"] for c in communities]
    for si, scode in enumerate(codes):
        members = [k for k, c in enumerate(communities) if c["street_code"] == scode]
        m = np.flatnonzero(street_lab == si)
        xy, a = cen[m], area[m]
        k = len(members)
        cseeds = lloyd_seeds(xy, a, k, rng)
        # smaller communities where it is more urban
        weight = np.exp(rng.normal(0.0, 0.22, k)) / np.sqrt(urban(cseeds[:, 0], cseeds[:, 1]))
        ctarget = a.sum() * weight / weight.sum()
        lab = fit_power(xy, a, cseeds, ctarget)
        lab, _ = make_contiguous(lab, np.zeros(len(m), int), a, _sub_adj(adj, m))
        # community codes in reading order of their seeds (north-west first) ...
        order = sorted(range(k), key=lambda q: (-round(cseeds[q, 1] / 800.0), cseeds[q, 0]))
        assign = {q: members[r] for r, q in enumerate(order)}
        # ... except 火车站社区, which gets the piece holding 合肥站
        if scode == "340102011":
            hcz = comm_codes.index("340102011004")
            q_station = int(lab[np.argmin(((xy - station) ** 2).sum(axis=1))])
            q_hcz = next(q for q, v in assign.items() if v == hcz)
            assign[q_hcz], assign[q_station] = assign[q_station], assign[q_hcz]
        comm_lab[m] = np.array([assign[q] for q in lab])
    assert (comm_lab >= 0).all()
    return atoms, street_lab, comm_lab


def _sub_adj(adj, members: np.ndarray):
    """Adjacency restricted to ``members``, re-indexed 0..len(members)-1."""
    ai, aj, al = adj
    index = np.full(max(ai.max(), aj.max()) + 1, -1)
    index[members] = np.arange(len(members))
    m = (index[ai] >= 0) & (index[aj] >= 0)
    return index[ai[m]], index[aj[m]], al[m]


# ----------------------------------------------------------------------------------------------
# grid counts and dedicated units


def grid_counts(comm_polys: list[Polygon], communities, rng: np.random.Generator) -> np.ndarray:
    """Grids per community, each >= 4, summing to 596.

    The old town gets ``WEST_GRIDS`` of them (small grids), 大兴镇 and 龙岗 the rest; within
    each part by area, weighted towards the more urban communities.
    """
    area = np.array([p.area / 1e6 for p in comm_polys])
    cen = shapely.get_coordinates(shapely.centroid(np.array(comm_polys)))
    u = urban(cen[:, 0], cen[:, 1])
    east = np.array([c["street_code"] in EAST_UNITS for c in communities])
    weight = area * np.sqrt(u) * np.exp(rng.normal(0.0, 0.12, len(area)))
    raw = np.where(
        east,
        weight / weight[east].sum() * (N_GRIDS - WEST_GRIDS),
        weight / np.where(east, 0, weight).sum() * WEST_GRIDS,
    )
    n = np.maximum(4, np.floor(raw).astype(int))
    while n.sum() < N_GRIDS:
        n[np.argmax(raw - n)] += 1
    while n.sum() > N_GRIDS:
        n[np.argmax(np.where(n > 4, n - raw, -np.inf))] -= 1
    return n


# (name, type, placement): placement is a community code, a street code, "east" or "west".
# Names are invented or echo well-known landmarks; positions are generated, not surveyed.
DEDICATED_FIXED: list[tuple[str, str, str]] = [
    ("合肥站", "transport", "340102011004"),
    ("合肥东站", "transport", "340102100007"),
    ("明光路汽车客运站", "transport", "340102001"),
    ("瑶海公交枢纽站", "transport", "340102010"),
    ("龙岗公交停保场", "transport", "340102401"),
    ("大兴物流港", "transport", "340102100"),
    ("合肥市第二人民医院", "hospital", "340102008"),
    ("瑶海区人民医院", "hospital", "340102010"),
    ("合肥铁路医院", "hospital", "340102004"),
    ("瑶海区中医医院", "hospital", "340102005"),
    ("瑶海区妇幼保健院", "hospital", "340102012"),
    ("方庙医院", "hospital", "340102012"),
    ("大兴镇卫生院", "hospital", "340102100"),
    ("龙岗医院", "hospital", "340102401"),
    ("周谷堆农产品批发市场", "market", "340102100"),
    ("白马服装城", "market", "340102003"),
    ("站西路小商品市场", "market", "340102011"),
    ("瑶海建材市场", "market", "340102010"),
    ("瑶海区人民政府", "government", "340102010"),
    ("瑶海区政务服务中心", "government", "340102006"),
    ("瑶海区公安分局", "government", "340102005"),
    ("龙岗开发区管委会", "government", "340102401"),
    ("大兴镇人民政府", "government", "340102100"),
    ("瑶海区法院", "government", "340102012"),
    ("合肥市档案馆瑶海分馆", "government", "340102007"),
    ("合钢集团老厂区", "enterprise", "340102007"),
    ("合肥热电厂", "enterprise", "340102010"),
    ("合肥机床厂", "enterprise", "340102006"),
    ("瑶海污水处理厂", "enterprise", "340102100"),
    ("合肥轮胎厂", "enterprise", "340102014"),
    ("东方纺织厂", "enterprise", "340102005"),
    ("龙岗物流中心", "enterprise", "340102401"),
    ("瑶海职业技术学校", "school", "340102014"),
    ("瑶海区实验小学", "school", "340102003"),
    ("瑶海区实验中学", "school", "340102004"),
    ("合肥铁路工程学校", "school", "340102011"),
    ("龙岗中学", "school", "340102401"),
    ("大兴中学", "school", "340102100"),
]
INDUSTRIAL_PARKS = [
    ("龙岗智能制造产业园", "340102401"),
    ("龙岗新材料产业园", "340102401"),
    ("龙岗电子信息产业园", "340102401"),
    ("龙岗汽车零部件产业园", "340102401"),
    ("龙岗食品加工产业园", "340102401"),
    ("龙岗现代物流园", "340102401"),
    ("龙岗节能环保产业园", "340102401"),
    ("龙岗生物医药产业园", "340102401"),
    ("龙岗装备制造产业园", "340102401"),
    ("龙岗光电产业园", "340102401"),
    ("龙岗创业园", "340102401"),
    ("龙岗数字经济产业园", "340102401"),
    ("大兴工业园", "340102100"),
    ("大兴都市产业园", "340102100"),
    ("瑶海都市科技工业园", "340102010"),
    ("嘉山路文创园", "340102014"),
]
N_SCHOOLS_BY_COMMUNITY = 14  # "<community>小学/中学"
N_MARKETS_BY_COMMUNITY = 8  # "<community>农贸市场"

# carve-out size ranges (metres: long side, short side)
CARVE_SIZE = {
    "school": ((160, 260), (110, 190)),
    "hospital": ((150, 250), (110, 190)),
    "market": ((90, 200), (70, 140)),
    "transport": ((160, 320), (110, 200)),
    "industrial_park": ((500, 1100), (380, 750)),
    "government": ((90, 170), (70, 130)),
    "enterprise": ((240, 520), (170, 360)),
}
CARVE_FIXED_AT = {"合肥站": HEFEI_STATION}
CARVE_FIXED_SIZE = {
    "合肥站": (430, 260),
    "合肥东站": (600, 280),
    "周谷堆农产品批发市场": (560, 420),
}


def short_name(community_name: str) -> str:
    """恒通社区居委会 -> 恒通社区."""
    return community_name.removesuffix("居委会")


def place_dedicated(communities, n_grids: np.ndarray, rng) -> list[list[tuple[str, str]]]:
    """Dedicated units per community index: [(unit name, unit type), ...]."""
    codes = [c["code"] for c in communities]
    per: list[list[tuple[str, str]]] = [[] for _ in codes]

    def room(k: int) -> bool:
        return len(per[k]) < min(3, n_grids[k] - 3)

    def put(name: str, kind: str, where: str) -> None:
        if len(where) == 12:
            cands = [codes.index(where)]
        else:
            cands = [k for k, c in enumerate(codes) if c.startswith(where)]
        cands = [k for k in cands if room(k)]
        assert cands, f"no room for {name}"
        # the community with the fewest carve-outs, ties by random draw
        r = rng.permutation(len(cands))
        k = min(zip([len(per[c]) for c in cands], r, cands, strict=True))[2]
        per[k].append((name, kind))

    for name, kind, where in DEDICATED_FIXED:
        put(name, kind, where)
    for name, where in INDUSTRIAL_PARKS:
        put(name, "industrial_park", where)
    # schools and markets named after the (western) community that holds them
    west = [k for k, c in enumerate(codes) if c[:9] not in EAST_UNITS]
    for count, kind, suffixes in (
        (N_SCHOOLS_BY_COMMUNITY, "school", ("小学", "中学")),
        (N_MARKETS_BY_COMMUNITY, "market", ("农贸市场",)),
    ):
        done = 0
        for k in rng.permutation(west):
            if done == count:
                break
            if not room(int(k)):
                continue
            base = short_name(communities[k]["name"]).removesuffix("社区")
            per[int(k)].append((base + suffixes[done % len(suffixes)], kind))
            done += 1
        assert done == count
    total = sum(len(p) for p in per)
    assert total == N_DEDICATED, total
    return per


# ----------------------------------------------------------------------------------------------
# grids


def rotated_rect(cx: float, cy: float, w: float, h: float, angle_deg: float) -> Polygon:
    a = math.radians(angle_deg)
    ca, sa = math.cos(a), math.sin(a)
    pts = []
    for dx, dy in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)):
        pts.append((cx + dx * ca - dy * sa, cy + dx * sa + dy * ca))
    return Polygon(pts)


def carve(C: Polygon, units, n_total: int, rng) -> list[Polygon]:
    """Rotated rectangles for the dedicated units of one community, inside it, apart."""
    rects: list[Polygon] = []
    inner = C.buffer(-12.0)
    cap = 0.55 * C.area / n_total  # a carve-out is no bigger than about half a grid
    for name, kind in units:
        if name in CARVE_FIXED_SIZE:
            w, h = CARVE_FIXED_SIZE[name]
        else:
            (w0, w1), (h0, h1) = CARVE_SIZE[kind]
            w, h = rng.uniform(w0, w1), rng.uniform(h0, h1)
        scale = min(1.0, math.sqrt(cap / (w * h)))
        w, h = w * scale, h * scale
        for _attempt in range(40):
            ok = False
            centres = sample_in(inner, 60, rng)
            if name in CARVE_FIXED_AT:  # near its real position
                at = np.array(to_metric(Point(*CARVE_FIXED_AT[name])).coords[0])
                centres = at + rng.normal(0.0, 10.0 + 8.0 * _attempt, (60, 2))
                centres[0] = at
            angles = rng.uniform(-20.0, 20.0, 60)
            for (cx, cy), ang in zip(centres, angles, strict=True):
                r = rotated_rect(cx, cy, w, h, ang)
                if r.within(inner) and all(r.distance(o) > 40.0 for o in rects):
                    rects.append(r)
                    ok = True
                    break
            if ok:
                break
            w, h = w * 0.85, h * 0.85
        else:
            raise RuntimeError(f"could not place {name}")
    return rects


def resident_seeds(C: Polygon, rects: list[Polygon], k: int, rng, iters: int = 15) -> np.ndarray:
    """k Lloyd-relaxed seeds over the community minus its carve-outs."""
    free = C.buffer(-3.0)
    if rects:
        free = free.difference(shapely.union_all(rects).buffer(25.0))
    seeds = sample_in(free, k, rng)
    extent = C.envelope.buffer(500.0)
    for _ in range(iters):
        cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=extent, ordered=True)
        cells = shapely.intersection(shapely.get_parts(cells), free)
        new = seeds.copy()
        for q, cell in enumerate(cells):
            if cell.is_empty:
                continue
            c = cell.centroid
            if not free.contains(c):
                c = cell.point_on_surface()
            new[q] = c.coords[0]
        seeds = new
    return seeds


def build_grids(comm_polys, communities, n_grids, dedicated, rng):
    """Faces of the final arrangement with community and grid labels, plus grid metadata."""
    lines = [p.exterior for p in comm_polys] + [r for p in comm_polys for r in p.interiors]
    grid_meta: list[dict] = []  # per grid label: community index, kind, unit name/type
    seeds_of: list[np.ndarray] = []
    rects_of: list[list[Polygon]] = []
    first_label: list[int] = []
    for k, C in enumerate(comm_polys):
        units = dedicated[k]
        rects = carve(C, units, int(n_grids[k]), rng)
        r_c = int(n_grids[k]) - len(units)
        seeds = resident_seeds(C, rects, r_c, rng)
        edges = shapely.voronoi_polygons(
            shapely.multipoints(seeds), extend_to=C.envelope.buffer(500.0), only_edges=True
        )
        lines.append(shapely.intersection(edges, C.buffer(OVERSHOOT_M)))
        lines.extend(r.exterior for r in rects)
        first_label.append(len(grid_meta))
        for _ in range(r_c):
            grid_meta.append({"community": k, "kind": "resident"})
        for name, kind in units:
            grid_meta.append(
                {"community": k, "kind": "dedicated", "unit_name": name, "unit_type": kind}
            )
        seeds_of.append(seeds)
        rects_of.append(rects)
    faces = faces_from_lines(lines)
    rp = shapely.point_on_surface(faces)
    tree = shapely.STRtree(np.array(comm_polys, dtype=object))
    pi, ci = tree.query(rp, predicate="within")
    face_comm = np.full(len(faces), -1)
    face_comm[pi] = ci
    outside = face_comm < 0
    # faces outside every community are loops of overshooting edges beyond the district
    keep = ~outside
    lost = shapely.area(faces[outside]).sum() if outside.any() else 0.0
    faces, rp, face_comm = faces[keep], rp[keep], face_comm[keep]
    rpxy = shapely.get_coordinates(rp)
    face_grid = np.empty(len(faces), int)
    for k in range(len(comm_polys)):
        m = np.flatnonzero(face_comm == k)
        d2 = ((rpxy[m, None, :] - seeds_of[k][None, :, :]) ** 2).sum(axis=2)
        lab = first_label[k] + np.argmin(d2, axis=1)
        for q, r in enumerate(rects_of[k]):
            inside = shapely.contains(r, rp[m])
            lab[inside] = first_label[k] + len(seeds_of[k]) + q
        face_grid[m] = lab
    return faces, face_comm, face_grid, grid_meta, lost


def assemble(faces, face_comm, face_grid, grid_meta):
    """Make every grid one piece; return grid polygons (metric) and the final face labels."""
    area = shapely.area(faces)
    adj = adjacency(faces)
    resident = {g for g, m in enumerate(grid_meta) if m["kind"] == "resident"}
    face_grid, moved = make_contiguous(
        face_grid, face_comm, area, adj, prefer=lambda g: 1 if g in resident else 0
    )
    polys = []
    for g in range(len(grid_meta)):
        m = face_grid == g
        assert m.any(), f"grid {g} vanished"
        u = shapely.coverage_union_all(faces[m])
        parts = polygon_parts(u)
        assert len(parts) == 1, (g, u.geom_type, [p.area for p in parts])
        polys.append(parts[0])
    return polys, face_grid, moved


def reading_order(polys: list[Polygon], community_poly: Polygon) -> list[int]:
    """Indices of ``polys`` in reading order: rows north to south, each row west to east.

    Row height h = sqrt(community area / number of grids); row = floor((ymax - cy) / h) with
    ymax the top of the community's bounding box and (cx, cy) the grid centroid, all in
    EPSG:4548 metres; within a row by cx.
    """
    h = math.sqrt(community_poly.area / len(polys))
    ymax = community_poly.bounds[3]
    keys = []
    for q, p in enumerate(polys):
        cx, cy = p.centroid.coords[0]
        keys.append((math.floor((ymax - cy) / h), cx, q))
    return [q for _, _, q in sorted(keys)]


# ----------------------------------------------------------------------------------------------
# names and people (all invented)

SURNAMES = (
    "王王王李李李张张张刘刘陈陈杨杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田"
    "董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪汪范金石廖贾夏韦方白邹孟熊秦江尹薛段"
    "雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴孔汤葛"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚建国华文志海玉红英萍秀燕琳婷雪晨宇浩斌鹏辉峰兰凤"
    "梅云春晓慧颖洁莉瑞思佳俊振德光荣林成新永立安宁波飞鑫倩楠琪欣怡子涵雨轩博文家豪金桂珍"
)
MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "134",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "177",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "199",
)
ROADS = (
    "临泉路",
    "胜利路",
    "明光路",
    "长江东路",
    "铜陵路",
    "凤阳路",
    "和平路",
    "当涂路",
    "繁昌路",
    "荻港路",
    "枞阳路",
    "濉溪路",
    "站前路",
    "长淮路",
    "合裕路",
    "大通路",
    "东二环路",
    "嘉山路",
    "龙岗路",
    "裕溪路",
    "全椒路",
    "淮南路",
    "新海大道",
    "滁州路",
    "天长路",
    "凤台路",
    "花冲路",
    "东七路",
    "板桥路",
    "方庙路",
    "郎溪路",
    "泗洲路",
    "铜陵北路",
    "站西路",
    "明皇路",
    "白马路",
    "蒙城北路",
    "北二环路",
    "颍上路",
    "寿春路",
    "怀远路",
    "龙川路",
    "磨店路",
    "大兴路",
    "漕冲路",
    "双圩路",
    "东方大道",
)
NAME_PREFIXES = (
    "和平",
    "幸福",
    "阳光",
    "锦绣",
    "翠竹",
    "金色",
    "东方",
    "书香",
    "滨河",
    "桂花",
    "紫薇",
    "丽景",
    "枫林",
    "梧桐",
    "杏林",
    "海棠",
    "玉兰",
    "香樟",
    "银杏",
    "丹桂",
    "景泰",
    "天润",
    "瑞景",
    "嘉和",
    "华安",
    "万家",
    "兴隆",
    "永安",
    "长青",
    "春晖",
    "朝阳",
    "晨光",
    "曙光",
    "明珠",
    "碧水",
    "清溪",
    "芳草",
    "绿荫",
    "文汇",
    "文博",
    "德馨",
    "康乐",
    "安居",
    "乐居",
    "怡景",
    "静安",
    "宜居",
    "祥和",
    "泰和",
    "惠民",
    "福泰",
    "鸿运",
    "金鼎",
    "银河",
    "星河",
    "天和",
    "凤凰",
    "龙川",
    "淮河",
    "江淮",
    "长江",
    "庐州",
    "合瑞",
    "瑶光",
    "东城",
    "新城",
    "新华",
    "新安",
    "皖江",
    "皖新",
    "锦江",
    "华侨",
)
WORK_UNITS = (
    "红星",
    "工人",
    "铁路",
    "钢城",
    "电厂",
    "纺织",
    "机床",
    "邮电",
    "卫生",
    "教育",
    "粮食",
    "供销",
    "建工",
    "水利",
    "城建",
    "商贸",
)
OLD_SUFFIXES = ("新村", "小区", "新村", "小区", "里")
WORK_UNIT_SUFFIXES = ("宿舍", "新村", "小区")
NEW_SUFFIXES = ("花园", "家园", "苑", "公寓", "嘉园", "名苑", "雅居", "佳苑", "府", "城", "小区")


class Namer:
    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.used: set[str] = set()
        self.phones: set[str] = set()

    def unique(self, make) -> str:
        for _ in range(10000):
            name = make()
            if name not in self.used:
                self.used.add(name)
                return name
        raise RuntimeError("ran out of names")

    def reserve(self, name: str) -> str:
        assert name not in self.used, name
        self.used.add(name)
        return name

    def person(self) -> str:
        r = self.rng
        s = SURNAMES[r.integers(len(SURNAMES))]
        n = 1 if r.uniform() < 0.3 else 2
        return s + "".join(GIVEN[r.integers(len(GIVEN))] for _ in range(n))

    def phone(self) -> str:
        while True:
            p = MOBILE_PREFIXES[self.rng.integers(len(MOBILE_PREFIXES))]
            p += "".join(str(d) for d in self.rng.integers(0, 10, 8))
            if p not in self.phones:
                self.phones.add(p)
                return p

    def compound(self, old_town: bool, community_base: str, east: bool) -> str:
        r = self.rng

        def make() -> str:
            x = r.uniform()
            if east and x < 0.25:
                return community_base + ("安置小区", "家园", "新村", "花园")[r.integers(4)]
            if old_town and x < 0.15:
                return ROADS[r.integers(len(ROADS))] + ("小区", "宿舍", "新村")[r.integers(3)]
            if old_town and x < 0.3:
                return WORK_UNITS[r.integers(len(WORK_UNITS))] + WORK_UNIT_SUFFIXES[r.integers(3)]
            pre = NAME_PREFIXES[r.integers(len(NAME_PREFIXES))]
            suf = OLD_SUFFIXES if (old_town and r.uniform() < 0.6) else NEW_SUFFIXES
            return pre + suf[r.integers(len(suf))]

        return self.unique(make)

    def building(self) -> str:
        r = self.rng
        return self.unique(lambda: f"{ROADS[r.integers(len(ROADS))]}{r.integers(1, 300)}号楼")

    def address(self, street_name: str, community: str) -> str:
        r = self.rng
        road = ROADS[r.integers(len(ROADS))]
        return f"安徽省合肥市瑶海区{street_name}{community}{road}{r.integers(1, 400)}号"


# ----------------------------------------------------------------------------------------------
# compounds


def footprint(cx, cy, w, h, angle, l_shape: tuple[float, float] | None) -> Polygon:
    if l_shape is None:
        return rotated_rect(cx, cy, w, h, angle)
    a, b = l_shape  # the notch, as fractions of w and h, cut from the north-east corner
    pts = [
        (-w / 2, -h / 2),
        (w / 2, -h / 2),
        (w / 2, h / 2 - b * h),
        (w / 2 - a * w, h / 2 - b * h),
        (w / 2 - a * w, h / 2),
        (-w / 2, h / 2),
    ]
    t = math.radians(angle)
    ct, st = math.cos(t), math.sin(t)
    return Polygon([(cx + x * ct - y * st, cy + x * st + y * ct) for x, y in pts])


def place_compound(grid: Polygon, taken: list[Polygon], area_m2: float, scattered: bool, rng):
    """A footprint of about ``area_m2`` inside ``grid`` (5 m clear of its edge), apart from
    the footprints already ``taken`` (8 m clear)."""
    inner = grid.buffer(-5.0)
    blocked = shapely.union_all([t.buffer(8.0) for t in taken]) if taken else None
    free = inner.difference(blocked) if blocked is not None else inner
    if scattered:
        w = rng.uniform(22.0, 60.0)
        h = rng.uniform(12.0, 20.0)
        l_shape = None
    else:
        aspect = rng.uniform(1.0, 2.2)
        h = math.sqrt(area_m2 / aspect)
        w = h * aspect
        l_shape = (rng.uniform(0.3, 0.5), rng.uniform(0.3, 0.5)) if rng.uniform() < 0.3 else None
        if l_shape:
            grow = 1.0 / math.sqrt(1.0 - l_shape[0] * l_shape[1])
            w, h = w * grow, h * grow
        cap = math.sqrt(0.45 * grid.area / (w * h))  # at most ~45% of the grid
        if cap < 1.0:
            w, h = w * cap, h * cap
        w = min(max(w, 45.0), 340.0)
        h = min(max(h, 30.0), 340.0)
    shapely.prepare(inner)
    for _ in range(30):
        if free.is_empty:
            break
        centres = sample_in(free, 40, rng)
        angles = rng.uniform(-25.0, 25.0, 40)
        for (cx, cy), ang in zip(centres, angles, strict=True):
            f = footprint(cx, cy, w, h, ang, l_shape)
            if inner.contains(f) and (blocked is None or not f.intersects(blocked)):
                return f
        w, h = w * 0.9, h * 0.9
    raise RuntimeError("could not place a compound")


def make_compounds(grids: list[dict], grid_polys, comm_info, namer: Namer, rng):
    """Compounds for resident grids, with households set per grid."""
    res = [g for g, m in enumerate(grids) if m["kind"] == "resident"]
    n_res = len(res)
    cen = shapely.get_coordinates(shapely.centroid(np.array([grid_polys[g] for g in res])))
    u = urban(cen[:, 0], cen[:, 1])
    area = np.array([grid_polys[g].area for g in res])
    # organised: one per resident grid, the rest to larger grids
    n_org = np.ones(n_res, int)
    p_extra = np.sqrt(area) / np.sqrt(area).sum()
    extra = rng.choice(n_res, N_ORGANISED - n_res, replace=False, p=p_extra)
    n_org[extra] += 1
    # scattered buildings: mostly in the old town
    n_sc = np.zeros(n_res, int)
    w = u**2
    for q in rng.choice(n_res, N_SCATTERED, replace=True, p=w / w.sum()):
        n_sc[q] += 1
    hh_grid = np.clip(np.round(rng.normal(500.0, 105.0, n_res)), 160, 960).astype(int)

    out = []
    for q, g in enumerate(res):
        poly = grid_polys[g]
        comm = comm_info[grids[g]["community"]]
        sc_hh = [int(rng.integers(12, 61)) for _ in range(n_sc[q])]
        left = max(hh_grid[q] - sum(sc_hh), 60 * n_org[q])
        share = rng.dirichlet(np.full(n_org[q], 3.0))
        org_hh = [max(60, round(left * s)) for s in share]
        taken: list[Polygon] = []
        site = 30.0 + 35.0 * (1.0 - u[q]) + rng.uniform(0.0, 15.0)  # m² of site per household
        for hh in sorted(org_hh, reverse=True):
            f = place_compound(poly, taken, hh * site, False, rng)
            taken.append(f)
            out.append(
                {
                    "grid": g,
                    "kind": "organised",
                    "households": hh,
                    "geom": f,
                    "old_town": not comm["east"],
                    "community": grids[g]["community"],
                }
            )
        for hh in sc_hh:
            f = place_compound(poly, taken, 0.0, True, rng)
            taken.append(f)
            out.append(
                {
                    "grid": g,
                    "kind": "scattered",
                    "households": hh,
                    "geom": f,
                    "old_town": not comm["east"],
                    "community": grids[g]["community"],
                }
            )
    assert sum(c["kind"] == "organised" for c in out) == N_ORGANISED
    assert sum(c["kind"] == "scattered" for c in out) == N_SCATTERED
    return out


# real compounds named in the 2022 report: name -> community code or street code
NAMED_COMPOUNDS = {
    "恒通小区": "340102006004",
    "长春都市花园": "340102011007",
    "窑湾村": "340102003",
    "淮北新村": "340102004004",
}


def name_compounds(compounds, grids, comm_info, namer: Namer, rng) -> None:
    for name in NAMED_COMPOUNDS:
        namer.reserve(name)
    for name, where in NAMED_COMPOUNDS.items():
        cands = [
            c
            for c in compounds
            if c["kind"] == "organised"
            and "name" not in c
            and comm_info[c["community"]]["code"].startswith(where)
        ]
        cands.sort(key=lambda c: -c["households"])
        cands[int(rng.integers(min(3, len(cands))))]["name"] = name
    for c in compounds:
        if "name" in c:
            continue
        info = comm_info[c["community"]]
        if c["kind"] == "scattered":
            c["name"] = namer.building()
        else:
            c["name"] = namer.compound(c["old_town"], info["base"], info["east"])
    for c in compounds:
        hh = c["households"]
        pop = round(hh * rng.uniform(2.3, 2.9))
        c["population"] = min(max(pop, math.ceil(2.3 * hh)), math.floor(2.9 * hh))
    n = len(compounds)
    east = np.array([comm_info[c["community"]]["east"] for c in compounds])
    scattered = np.array([c["kind"] == "scattered" for c in compounds])
    oldname = np.array([c["name"].endswith(("新村", "小区", "宿舍", "里")) for c in compounds])
    w_not_safe = np.where(scattered, 3.0, 1.0) * np.where(east, 2.5, 1.0)
    not_safe = rng.choice(n, n - N_SMART_SAFE, replace=False, p=w_not_safe / w_not_safe.sum())
    safe = np.ones(n, bool)
    safe[not_safe] = False
    w3 = np.where(east, 0.15, 1.0) * np.where(scattered, 3.0, 1.0) * np.where(oldname, 3.0, 1.0)
    w3 = np.where(safe, w3, 0.0)
    three = np.zeros(n, bool)
    three[rng.choice(n, N_THREE_NO, replace=False, p=w3 / w3.sum())] = True
    for k, c in enumerate(compounds):
        c["smart_safe"] = bool(safe[k])
        c["three_no"] = bool(three[k])


# ----------------------------------------------------------------------------------------------
# stations

STATION_COUNTS = {"doorstep": 32, "courier_rest": 16, "happiness": 20, "mediation": 26, "legal": 12}
EAST_STATION_WEIGHT = 0.22  # the east has fewer stations per household
OPENING_HOURS = {
    "party_mass": ("Mo-Fr 08:30-17:30; Sa 09:00-12:00",),
    "doorstep": ("Mo-Fr 08:30-12:00,14:30-17:30", "Mo-Sa 08:30-17:30", "Mo-Fr 09:00-17:00"),
    "courier_rest": ("Mo-Su 00:00-24:00",),
    "happiness": ("Mo-Su 08:00-20:00", "Mo-Fr 09:00-17:00; Sa,Su 09:00-12:00", "Mo-Su 08:30-18:00"),
    "mediation": ("Mo-Fr 09:00-11:30,14:30-17:00", "Tu,Th 14:00-17:00", "Mo-Fr 09:00-17:00"),
    "legal": ("Mo-Fr 09:00-17:00", "Mo-Fr 09:00-12:00,14:00-17:00"),
}
STATION_SUFFIX = {
    "doorstep": "家门口服务站",
    "courier_rest": "小哥暖心站",
    "happiness": "幸福驿站",
    "mediation": "百姓说事点",
    "legal": "法治e站",
}
# real stations named in the 2022 report: (name, kind, community code or street code)
NAMED_STATIONS = [
    ("暖宝幸福驿站", "happiness", "340102006004"),
    ("左邻右舍百姓说事点", "mediation", "340102004005"),
    ("红星为民法治e站", "legal", "340102010"),
    ("胜利社区家门口服务站", "doorstep", "340102011002"),
]
STATION_WORDS = (
    "暖心",
    "邻里",
    "和美",
    "连心",
    "红心",
    "同心",
    "温馨",
    "安心",
    "聚力",
    "睦邻",
    "爱心",
    "阳光",
    "贴心",
    "惠民",
    "为民",
    "和谐",
    "携手",
    "便民",
    "友邻",
    "乐享",
)


def station_point(compound: Polygon, C_inner: Polygon, rng) -> Point:
    """A point within 60 m of a compound, well inside its community."""
    zone = compound.buffer(60.0).intersection(C_inner)
    if zone.is_empty:
        zone = C_inner
    x, y = sample_in(zone, 1, rng)[0]
    return Point(x, y)


def make_stations(compounds, comm_polys, comm_info, street_names, namer: Namer, rng):
    inner = [C.buffer(-10.0) for C in comm_polys]
    by_comm: dict[int, list[dict]] = defaultdict(list)
    for c in compounds:
        by_comm[c["community"]].append(c)
    hh_comm = np.array([sum(c["households"] for c in by_comm[k]) for k in range(len(comm_polys))])
    east = np.array([ci["east"] for ci in comm_info])
    out: list[dict] = []

    def add(k: int, kind: str, name: str, near: dict | None = None) -> None:
        cs = by_comm[k]
        if near is None:
            hh = np.array([c["households"] for c in cs], float)
            near = cs[int(rng.choice(len(cs), p=hh / hh.sum()))]
        pt = station_point(near["geom"], inner[k], rng)
        hours = OPENING_HOURS[kind]
        out.append(
            {
                "name": name,
                "kind": kind,
                "community": k,
                "opening_hours": hours[int(rng.integers(len(hours)))],
                "address": namer.address(
                    street_names[comm_info[k]["street_code"]], comm_info[k]["short"]
                ),
                "geom": pt,
            }
        )

    # one 左邻右舍 party-mass station per community, by the compound nearest its middle
    for k, C in enumerate(comm_polys):
        mid = C.point_on_surface()
        near = min(by_comm[k], key=lambda c: (c["geom"].distance(mid), c["name"]))
        add(k, "party_mass", namer.reserve(comm_info[k]["short"] + "左邻右舍党群服务站"), near)
    count = defaultdict(int)
    codes = [ci["code"] for ci in comm_info]
    for name, kind, where in NAMED_STATIONS:
        cands = [k for k, code in enumerate(codes) if code.startswith(where)]
        k = cands[int(rng.integers(len(cands)))]
        add(k, kind, namer.reserve(name))
        count[kind] += 1
    weight = hh_comm * np.where(east, EAST_STATION_WEIGHT, 1.0)
    for kind, total in STATION_COUNTS.items():
        per = np.zeros(len(comm_polys), int)
        while count[kind] < total:
            k = int(rng.choice(len(comm_polys), p=weight / weight.sum()))
            if per[k] >= 2:
                continue
            per[k] += 1
            count[kind] += 1
            base = comm_info[k]["base"]

            words = [w for w in STATION_WORDS if w not in STATION_SUFFIX[kind]]

            def make(kind=kind, base=base, words=words) -> str:
                x = rng.uniform()
                if x < 0.4:
                    return base + STATION_SUFFIX[kind]
                if x < 0.7:
                    return words[rng.integers(len(words))] + STATION_SUFFIX[kind]
                return base + words[rng.integers(len(words))] + STATION_SUFFIX[kind]

            add(k, kind, namer.unique(make))
    return out


# ----------------------------------------------------------------------------------------------
# checks (the same invariants tests/test_demo_file.py checks on the written file)


def check_tiling(parts, whole, label: str, overlap_tol: float = 0.01, delta_tol: float = 1.0):
    """``parts`` (metric) tile ``whole``: union delta, max pairwise overlap, validity."""
    parts = np.asarray(parts, dtype=object)
    assert shapely.is_valid(parts).all(), f"{label}: invalid geometry"
    assert not shapely.is_empty(parts).any(), f"{label}: empty geometry"
    union = shapely.union_all(parts)
    delta = shapely.symmetric_difference(union, whole).area
    tree = shapely.STRtree(parts)
    i, j = tree.query(parts, predicate="intersects")
    m = i < j
    ov = shapely.area(shapely.intersection(parts[i[m]], parts[j[m]]))
    max_ov = float(ov.max()) if len(ov) else 0.0
    assert delta < delta_tol, f"{label}: union differs from the whole by {delta} m²"
    assert max_ov < overlap_tol, f"{label}: overlap {max_ov} m²"
    return delta, max_ov


def check_shared_vertices(polys_storage) -> int:
    """Every vertex of a polygon that lies on another polygon's boundary is a vertex of it."""
    polys = np.asarray(polys_storage, dtype=object)
    coords, idx = shapely.get_coordinates(polys, return_index=True)
    own = defaultdict(set)
    for (x, y), g in zip(map(tuple, coords), idx.tolist(), strict=True):
        own[g].add((x, y))
    uniq = np.unique(coords, axis=0)
    pts = shapely.points(uniq)
    bounds = shapely.boundary(polys)
    pi, gi = shapely.STRtree(bounds).query(pts, predicate="dwithin", distance=1e-9)
    missing = 0
    for p, g in zip(pi.tolist(), gi.tolist(), strict=True):
        if tuple(uniq[p]) not in own[g]:
            missing += 1
    return missing


# ----------------------------------------------------------------------------------------------
# main


def main() -> None:
    t0 = time.time()
    rng = np.random.default_rng(SEED)
    district_src, streets, communities = load_inputs()
    street_names = {s["code"]: s["name"] for s in streets}
    street_codes = [s["code"] for s in streets]
    atoms, _, comm_lab = build_divisions(district_src, streets, communities, rng)
    comm_polys0 = [shapely.coverage_union_all(atoms[comm_lab == k]) for k in range(66)]
    # Before any grid line is drawn, smooth the atoms' tiny zigzags out of the community borders
    # (a topology-preserving coverage simplification; the district boundary is left as it is).
    comm_polys0 = list(
        shapely.coverage_simplify(
            np.array(comm_polys0, dtype=object), COMMUNITY_SIMPLIFY_M, simplify_boundary=False
        )
    )
    n_grids = grid_counts(comm_polys0, communities, rng)
    dedicated = place_dedicated(communities, n_grids, rng)
    faces, face_comm, face_grid, meta, lost = build_grids(
        comm_polys0, communities, n_grids, dedicated, rng
    )
    grid_polys, face_grid, moved = assemble(faces, face_comm, face_grid, meta)
    print(
        f"atoms {len(atoms)}, faces {len(faces)}, faces moved to a neighbour grid {moved}, "
        f"faces outside communities dropped: {lost:.6f} m²  ({time.time() - t0:.1f} s)"
    )

    # final communities, streets and district are unions of the same faces
    comm_polys = []
    for k in range(66):
        parts = polygon_parts(shapely.coverage_union_all(faces[face_comm == k]))
        assert len(parts) == 1, communities[k]["code"]
        comm_polys.append(parts[0])
    street_of_comm = np.array([street_codes.index(c["street_code"]) for c in communities])
    face_street = street_of_comm[face_comm]
    street_polys = []
    for s in range(13):
        parts = polygon_parts(shapely.coverage_union_all(faces[face_street == s]))
        assert len(parts) == 1, street_codes[s]
        street_polys.append(parts[0])
    district_poly = polygon_parts(shapely.coverage_union_all(faces))
    assert len(district_poly) == 1
    district_poly = district_poly[0]
    src_delta = shapely.symmetric_difference(district_poly, district_src).area
    assert src_delta < 1.0, src_delta

    comm_info = []
    for c in communities:
        short = short_name(c["name"])
        comm_info.append(
            {
                "code": c["code"],
                "short": short,
                "base": short.removesuffix("社区"),
                "street_code": c["street_code"],
                "east": c["street_code"] in EAST_UNITS,
            }
        )

    # grid codes in reading order within each community
    grids: list[dict] = []
    new_polys: list[Polygon] = []
    namer = Namer(rng)
    for k in range(66):
        ids = [g for g, m in enumerate(meta) if m["community"] == k]
        order = reading_order([grid_polys[g] for g in ids], comm_polys[k])
        for seq, q in enumerate(order, start=1):
            m = dict(meta[ids[q]])
            m["code"] = f"{communities[k]['code']}{seq:03d}"
            short = comm_info[k]["short"]
            if m["kind"] == "resident":
                m["name"] = namer.reserve(f"{short}第{seq}网格")
            else:
                m["name"] = namer.reserve(f"{m['unit_name']}专属网格")
            m["leader_name"] = namer.person()
            m["leader_phone"] = namer.phone()
            m["party_branch_name"] = m["name"] + "党支部"
            m["party_secretary_name"] = namer.person()
            m["party_secretary_phone"] = namer.phone()
            grids.append(m)
            new_polys.append(grid_polys[ids[q]])
    grid_polys = new_polys

    compounds = make_compounds(grids, grid_polys, comm_info, namer, rng)
    name_compounds(compounds, grids, comm_info, namer, rng)
    # compound ids: by grid code, then largest first (stable for a given seed)
    compounds.sort(key=lambda c: (grids[c["grid"]]["code"], -c["households"], c["name"]))
    stations = make_stations(compounds, comm_polys, comm_info, street_names, namer, rng)
    stations.sort(
        key=lambda s: (
            comm_info[s["community"]]["code"],
            s["kind"] != "party_mass",
            s["kind"],
            s["name"],
        )
    )

    # ---- checks in metres before conversion
    check_tiling(grid_polys, district_poly, "grids")
    check_tiling(comm_polys, district_poly, "communities")
    check_tiling(street_polys, district_poly, "streets")

    # ---- convert to storage (EPSG:4490) vertex by vertex and write
    write(
        district_poly,
        street_polys,
        comm_polys,
        grid_polys,
        compounds,
        stations,
        streets,
        communities,
        comm_info,
        grids,
    )
    print(
        f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size / 1e6:.2f} MB, "
        f"{time.time() - t0:.1f} s)"
    )

    verify(OUT, comm_info, street_codes, street_names, compounds, stations)
    print(f"done in {time.time() - t0:.1f} s")


def write(
    district_poly,
    street_polys,
    comm_polys,
    grid_polys,
    compounds,
    stations,
    streets,
    communities,
    comm_info,
    grids,
) -> None:
    import geopandas as gpd

    def conv(geoms):
        return [from_metric(g) for g in geoms]

    def multi(geoms):
        return [as_multi(g) for g in conv(geoms)]

    layers = {}
    layers["district"] = gpd.GeoDataFrame(
        {"code": ["340102"], "name": ["瑶海区"]}, geometry=multi([district_poly]), crs=STORAGE_CRS
    )
    layers["streets"] = gpd.GeoDataFrame(
        {
            "code": [s["code"] for s in streets],
            "name": [s["name"] for s in streets],
            "kind": [STREET_KIND.get(s["code"], "street") for s in streets],
        },
        geometry=multi(street_polys),
        crs=STORAGE_CRS,
    )
    layers["communities"] = gpd.GeoDataFrame(
        {
            "code": [c["code"] for c in communities],
            "name": [c["name"] for c in communities],
            "short_name": [ci["short"] for ci in comm_info],
            "street_code": [c["street_code"] for c in communities],
        },
        geometry=multi(comm_polys),
        crs=STORAGE_CRS,
    )
    layers["grids"] = gpd.GeoDataFrame(
        {
            "code": [g["code"] for g in grids],
            "name": [g["name"] for g in grids],
            "kind": [g["kind"] for g in grids],
            "dedicated_unit_name": [g.get("unit_name") for g in grids],
            "dedicated_unit_type": [g.get("unit_type") for g in grids],
            "community_code": [comm_info[g["community"]]["code"] for g in grids],
            "leader_name": [g["leader_name"] for g in grids],
            "leader_phone": [g["leader_phone"] for g in grids],
            "party_branch_name": [g["party_branch_name"] for g in grids],
            "party_secretary_name": [g["party_secretary_name"] for g in grids],
            "party_secretary_phone": [g["party_secretary_phone"] for g in grids],
        },
        geometry=multi(grid_polys),
        crs=STORAGE_CRS,
    )
    layers["compounds"] = gpd.GeoDataFrame(
        {
            "id": np.arange(1, len(compounds) + 1, dtype=np.int64),
            "name": [c["name"] for c in compounds],
            "kind": [c["kind"] for c in compounds],
            "households": np.array([c["households"] for c in compounds], dtype=np.int64),
            "population": np.array([c["population"] for c in compounds], dtype=np.int64),
            "smart_safe": np.array([c["smart_safe"] for c in compounds], dtype=bool),
            "three_no": np.array([c["three_no"] for c in compounds], dtype=bool),
        },
        geometry=multi([c["geom"] for c in compounds]),
        crs=STORAGE_CRS,
    )
    layers["stations"] = gpd.GeoDataFrame(
        {
            "id": np.arange(1, len(stations) + 1, dtype=np.int64),
            "name": [s["name"] for s in stations],
            "kind": [s["kind"] for s in stations],
            "community_code": [comm_info[s["community"]]["code"] for s in stations],
            "opening_hours": [s["opening_hours"] for s in stations],
            "address": [s["address"] for s in stations],
        },
        geometry=conv([s["geom"] for s in stations]),
        crs=STORAGE_CRS,
    )
    import pyogrio

    # a fixed gpkg_contents timestamp, so that regenerating gives a byte-identical file
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2023-06-30T00:00:00.000Z"})
    if OUT.exists():
        OUT.unlink()
    for name, gdf in layers.items():
        gdf.to_file(OUT, layer=name, driver="GPKG", engine="pyogrio")


def verify(path: Path, comm_info, street_codes, street_names, compounds, stations) -> None:
    """Re-read the file and assert the invariants; print the figures."""
    import geopandas as gpd

    L = {
        n: gpd.read_file(path, layer=n, engine="pyogrio")
        for n in ("district", "streets", "communities", "grids", "compounds", "stations")
    }
    for n, df in L.items():
        assert df.crs.to_epsg() == 4490, n
        assert shapely.is_valid(df.geometry.values).all(), f"{n}: invalid in EPSG:4490"
    M = {
        n: np.array([to_metric(g) for g in df.geometry.values], dtype=object) for n, df in L.items()
    }
    district = M["district"][0]
    g, c, s = L["grids"], L["communities"], L["streets"]
    assert len(g) == N_GRIDS and (g.kind == "resident").sum() == N_GRIDS - N_DEDICATED
    assert all(len(p.geoms) == 1 for p in L["grids"].geometry.values), "grid with >1 part"
    d_grid, ov_grid = check_tiling(M["grids"], district, "grids")
    d_comm, ov_comm = check_tiling(M["communities"], district, "communities")
    d_str, ov_str = check_tiling(M["streets"], district, "streets")
    print(
        f"grids: union Δ district {d_grid:.3g} m², max overlap {ov_grid:.3g} m²; "
        f"communities {d_comm:.3g}/{ov_comm:.3g}; streets {d_str:.3g}/{ov_str:.3g}"
    )
    # nesting
    cpoly = dict(zip(c.code, M["communities"], strict=True))
    spoly = dict(zip(s.code, M["streets"], strict=True))
    worst = 0.0
    for code, geom in zip(g.community_code, M["grids"], strict=True):
        worst = max(worst, geom.difference(cpoly[code].buffer(0.5)).area)
    for scode, geom in zip(c.street_code, M["communities"], strict=True):
        worst = max(worst, geom.difference(spoly[scode].buffer(0.5)).area)
    for geom in M["streets"]:
        worst = max(worst, geom.difference(district.buffer(0.5)).area)
    assert worst < 1e-6, worst
    for scode, sgeom in spoly.items():
        check_tiling(M["communities"][(c.street_code == scode).values], sgeom, f"street {scode}")
    for ccode, cgeom in cpoly.items():
        check_tiling(M["grids"][(g.community_code == ccode).values], cgeom, f"community {ccode}")
    missing = check_shared_vertices(L["grids"].geometry.values)
    assert missing == 0, f"{missing} vertices on a neighbour's edge are not its vertices"
    print(
        f"nesting: worst area outside parent+0.5 m {worst:.3g} m²; shared-vertex misses {missing}"
    )
    holes = sum(len(p.geoms[0].interiors) > 0 for p in L["grids"].geometry.values)

    # compounds -> grids by point-on-surface
    k = L["compounds"]
    comp = M["compounds"]
    assert len(k) == N_ORGANISED + N_SCATTERED
    assert (k.kind == "organised").sum() == N_ORGANISED
    assert k.smart_safe.sum() == N_SMART_SAFE and k.three_no.sum() == N_THREE_NO
    assert not (k.three_no & ~k.smart_safe).any()
    i, j = shapely.STRtree(comp).query(comp, predicate="intersects")
    assert not (i != j).any(), "compounds overlap or touch"
    gtree = shapely.STRtree(M["grids"])
    pos = shapely.point_on_surface(comp)
    pi, gi = gtree.query(pos, predicate="within")
    assert len(pi) == len(k) and len(set(pi.tolist())) == len(k), "compound not in exactly one grid"
    grid_of = np.empty(len(k), int)
    grid_of[pi] = gi
    outside = shapely.area(shapely.difference(comp, M["grids"][grid_of]))
    assert outside.max() < 1e-6, outside.max()
    assert (g.kind.values[grid_of] == "resident").all(), "compound in a dedicated grid"
    hh = np.bincount(grid_of, weights=k.households.values, minlength=len(g))
    res = (g.kind == "resident").values
    assert (hh[res] > 0).all(), "resident grid without compounds"
    in_range = ((hh[res] >= 300) & (hh[res] <= 700)).mean()
    assert in_range >= 0.9, in_range
    q = np.percentile(hh[res], [0, 5, 25, 50, 75, 95, 100])
    print(
        f"households per resident grid: min/p5/p25/median/p75/p95/max {q.astype(int).tolist()}, "
        f"{in_range:.1%} in 300-700; total households {int(k.households.sum())}, "
        f"population {int(k.population.sum())}; resident grids with a carve-out hole: {holes}"
    )

    # stations
    st = L["stations"]
    pm = st.kind == "party_mass"
    assert pm.sum() == 66 and st.community_code[pm].nunique() == 66
    for code, geom in zip(st.community_code, M["stations"], strict=True):
        assert cpoly[code].contains(geom), code
    counts = st.kind.value_counts().to_dict()
    print("stations:", dict(sorted(counts.items())), "total", len(st))
    sttree = shapely.STRtree(M["stations"])
    ci, _ = sttree.query(pos, predicate="dwithin", distance=CIRCLE_15MIN_M)
    covered = np.zeros(len(k), bool)
    covered[ci] = True
    street_of = np.array([cc[:9] for cc in g.community_code.values])[grid_of]
    shares = {}
    print(f"15-minute coverage (station circles r = {CIRCLE_15MIN_M:.0f} m, households):")
    for sc in street_codes:
        m = street_of == sc
        tot = k.households.values[m].sum()
        cov = k.households.values[m & covered].sum()
        shares[sc] = cov / tot
        print(f"  {sc} {street_names[sc]:<14} {cov:>7d} / {tot:>7d}  {cov / tot:6.1%}")
    overall = k.households.values[covered].sum() / k.households.sum()
    print(f"  district                      {overall:6.1%}")
    assert 0.75 <= overall <= 0.92, overall
    west = [v for sc, v in shares.items() if sc not in EAST_UNITS]
    assert max(shares[e] for e in EAST_UNITS) < min(west), "east should be covered worse"


if __name__ == "__main__":
    main()
