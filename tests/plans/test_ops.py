"""The move_compound, carve and replace ops against real PostGIS: publish and refusals."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import httpx
import pytest
import shapely
import shapely.affinity
from shapely.ops import nearest_points
from sqlalchemy import Engine, create_engine, text

from geogrid import plans
from geogrid.access import keys
from geogrid.access.roles import Role
from geogrid.boundaries.releases import current_release
from geogrid.boundaries.validation import check_release
from geogrid.errors import InvalidInputError
from geogrid.geo.datum import from_metric, geometry_from_storage, to_metric
from geogrid.plans.geometry import adjacent, holder
from geogrid.plans.lifecycle import EditRejectedError
from geogrid.plans.move import corridor
from geogrid.plans.preview import preview
from geogrid.plans.replace import read_drawing
from tests.conftest import start_api
from tests.helpers import count, fingerprint
from tests.plans.test_plans import neighbours


@pytest.fixture
def engine(fresh_demo_url: str) -> Iterator[Engine]:
    engine = create_engine(fresh_demo_url)
    yield engine
    engine.dispose()


def _layer(engine: Engine) -> plans.Layer:
    with engine.connect() as conn:
        return plans.base_layer(conn, current_release(conn).id)  # type: ignore[union-attr]


def _single(geom: Any) -> bool:
    return bool(shapely.get_num_geometries(geom) == 1 and to_metric(geom).is_valid)


def compound_on_edge(engine: Engine) -> tuple[int, str, str]:
    """A new compound in grid a along its edge with b (demo compounds keep off grid edges)."""
    a, b, area = _box_on_edge(engine, same_community=True)
    layer = _layer(engine)
    footprint = shapely.intersection(layer.grids[a]["geometry"], shapely.geometry.shape(area))
    with engine.begin() as conn:
        compound = int(
            conn.execute(
                text(
                    "INSERT INTO compound (id, name, kind, households, geom) "
                    "SELECT max(id) + 1, '边界小区', min(kind), 120, "
                    "ST_Multi(ST_GeomFromText(:g, 4490)) FROM compound RETURNING id"
                ),
                {"g": footprint.wkt},
            ).scalar_one()
        )
    return compound, a, b


def distant_grid(engine: Engine) -> tuple[int, str]:
    """A demo compound and a grid of its community that its grid does not touch."""
    layer = _layer(engine)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, ST_AsBinary(point) AS p FROM compound ORDER BY id")
        ).all()
    for row in rows:
        home = holder(layer.grids, shapely.from_wkb(bytes(row.p)))
        if home is None:
            continue
        source = layer.grids[home]["geometry"]
        for code, grid in sorted(layer.grids.items()):
            if (
                code != home
                and grid["community_code"] == layer.grids[home]["community_code"]
                and not adjacent(source, grid["geometry"])
            ):
                return row.id, code
    raise AssertionError("no community has two grids that do not touch")


def _published(engine: Engine, plan_id: int) -> tuple[int, list[tuple[str, str, float]]]:
    with engine.begin() as conn:
        release = plans.publish_plan(conn, plan_id, "planner-1")
    with engine.connect() as conn:
        assert check_release(conn, release.id) == []
        lineage = conn.execute(
            text(
                "SELECT trim(grid_code), trim(source_code), area_share "
                "FROM grid_lineage WHERE release_id = :r"
            ),
            {"r": release.id},
        ).all()
    return release.id, [(g, s, float(share)) for g, s, share in lineage]


def _refused(engine: Engine, edit: dict[str, Any]) -> EditRejectedError:
    with engine.begin() as conn:
        plan = plans.create_plan(conn, "bad", "planner-1")
    before = fingerprint(engine)
    edits = count(engine, "SELECT count(*) FROM plan_edit")
    with pytest.raises(EditRejectedError) as caught, engine.begin() as conn:
        plans.add_edit(conn, plan.id, edit, "planner-1")
    assert fingerprint(engine) == before
    assert count(engine, "SELECT count(*) FROM plan_edit") == edits
    return caught.value


# ---- move_compound --------------------------------------------------------------------------


def test_move_compound_publishes_and_the_point_changes_grid(engine: Engine) -> None:
    compound, source, to = compound_on_edge(engine)
    with engine.begin() as conn:
        plan = plans.create_plan(conn, "move a compound", "planner-1")
        plans.add_edit(
            conn, plan.id, {"op": "move_compound", "compound": compound, "to": to}, "planner-1"
        )
        stored = plans.get_plan(conn, plan.id).edits[0].params
    assert plans.OPS["move_compound"].touches(stored) == {source, to}
    release, lineage = _published(engine, plan.id)
    assert release == 2
    assert {(source, source), (to, to), (to, source)} <= {(g, s) for g, s, _ in lineage}
    with engine.connect() as conn:
        point = shapely.from_wkb(
            bytes(
                conn.execute(
                    text("SELECT ST_AsBinary(point) FROM compound WHERE id = :c"), {"c": compound}
                ).scalar_one()
            )
        )
    assert holder(_layer(engine).grids, point) == to


def test_move_compound_to_a_grid_not_adjacent_is_refused(engine: Engine) -> None:
    compound, far = distant_grid(engine)
    refused = _refused(engine, {"op": "move_compound", "compound": compound, "to": far})
    violation = refused.details[0]
    assert violation.rule == "not_adjacent" and violation.location is not None


def demo_move(engine: Engine) -> tuple[int, str, str, Any]:
    """A demo compound, its grid and an adjacent grid of its community that accepts it.

    Returns (compound, from, to, footprint). Demo compounds keep >= 5 m off grid edges, so
    the move must take the strip that joins the compound to the target grid.
    """
    layer = _layer(engine)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, ST_AsBinary(point) AS p, ST_AsBinary(geom) AS g "
                "FROM compound ORDER BY id"
            )
        ).all()
        for row in rows:
            home = holder(layer.grids, shapely.from_wkb(bytes(row.p)))
            if home is None:
                continue
            for code, grid in sorted(layer.grids.items()):
                if (
                    code == home
                    or grid["community_code"] != layer.grids[home]["community_code"]
                    or not adjacent(layer.grids[home]["geometry"], grid["geometry"])
                ):
                    continue
                trial = plans.Layer({c: dict(g) for c, g in layer.grids.items()}, layer.release)
                try:
                    plans.OPS["move_compound"].apply(conn, trial, {"compound": row.id, "to": code})
                except EditRejectedError:
                    continue
                return row.id, home, code, shapely.from_wkb(bytes(row.g))
    raise AssertionError("no demo compound can move")


def test_a_demo_compound_moves_with_the_strip_that_joins_it(engine: Engine) -> None:
    compound, source, to, footprint = demo_move(engine)
    layer = _layer(engine)
    gap = to_metric(footprint).distance(to_metric(layer.grids[to]["geometry"]))
    assert gap >= 4.0  # the footprint alone does not reach the target grid
    with engine.connect() as conn:
        households = conn.execute(
            text("SELECT households FROM compound WHERE id = :c"), {"c": compound}
        ).scalar_one()
    with engine.begin() as conn:
        plan = plans.create_plan(conn, "move a demo compound", "planner-1")
        plans.add_edit(
            conn, plan.id, {"op": "move_compound", "compound": compound, "to": to}, "planner-1"
        )
        shown = preview(conn, plan.id)
    assert shown["valid"] is True
    assert [(c["id"], c["from"], c["to"]) for c in shown["compounds_moved"]] == [
        (compound, source, to)
    ]
    figures = {g["code"]: g for g in shown["grids"]}
    assert set(figures) == {source, to}
    assert figures[to]["after"]["households"] - figures[to]["before"]["households"] == households
    assert (
        figures[source]["before"]["households"] - figures[source]["after"]["households"]
        == households
    )
    # The grids trade just the compound's corridor: areas move one way, the total is kept.
    gained = figures[to]["after"]["area_m2"] - figures[to]["before"]["area_m2"]
    lost = figures[source]["before"]["area_m2"] - figures[source]["after"]["area_m2"]
    assert gained == pytest.approx(lost, abs=1.0)
    assert to_metric(footprint).area <= gained < 4 * to_metric(footprint).area + 20_000
    release, lineage = _published(engine, plan.id)  # checks every invariant (geogrid validate)
    assert {(source, source), (to, to), (to, source)} <= {(g, s) for g, s, _ in lineage}
    after = _layer(engine)
    assert after.release == release
    assert _single(after.grids[source]["geometry"]) and _single(after.grids[to]["geometry"])
    with engine.connect() as conn:
        point = shapely.from_wkb(
            bytes(
                conn.execute(
                    text("SELECT ST_AsBinary(point) FROM compound WHERE id = :c"), {"c": compound}
                ).scalar_one()
            )
        )
    assert holder(after.grids, point) == to


def test_move_compound_that_would_cut_another_compound_is_refused(engine: Engine) -> None:
    compound, source, to, footprint = demo_move(engine)
    layer = _layer(engine)
    grid = layer.grids[source]["geometry"]
    hull = corridor(grid, layer.grids[to]["geometry"], shapely.intersection(grid, footprint))
    # A new compound on the corridor's way to the edge, wider than the corridor.
    edge = shapely.intersection(grid.boundary, layer.grids[to]["geometry"].boundary)
    near, far = (to_metric(p) for p in nearest_points(footprint, edge))
    middle = shapely.Point((near.x + far.x) / 2, (near.y + far.y) / 2)
    width = max(shapely.bounds(to_metric(hull))[2:] - shapely.bounds(to_metric(hull))[:2])
    blocker = shapely.difference(
        shapely.intersection(grid, from_metric(middle.buffer(width))), footprint.buffer(0.00002)
    )
    with engine.begin() as conn:
        other = int(
            conn.execute(
                text(
                    "INSERT INTO compound (id, name, kind, households, geom) "
                    "SELECT max(id) + 1, '挡路小区', min(kind), 80, "
                    "ST_Multi(ST_GeomFromText(:g, 4490)) FROM compound RETURNING id"
                ),
                {"g": blocker.wkt},
            ).scalar_one()
        )
    violation = _refused(engine, {"op": "move_compound", "compound": compound, "to": to}).details[0]
    assert violation.rule == "compound_cut" and str(other) in violation.message
    assert violation.location is not None and violation.location.intersects(blocker)


# ---- carve ----------------------------------------------------------------------------------


def _box_on_edge(engine: Engine, same_community: bool) -> tuple[str, str, dict[str, Any]]:
    """A ~60 m box around the middle of a long edge between two grids."""
    a, b, _ = neighbours(engine, same_community=same_community)
    layer = _layer(engine)
    edge = shapely.intersection(
        layer.grids[a]["geometry"].boundary, layer.grids[b]["geometry"].boundary
    )
    middle = shapely.line_merge(edge) if edge.geom_type == "MultiLineString" else edge
    if middle.geom_type == "MultiLineString":
        middle = max(middle.geoms, key=lambda g: g.length)
    centre = middle.interpolate(0.5, normalized=True)
    box = shapely.box(centre.x - 0.0003, centre.y - 0.0003, centre.x + 0.0003, centre.y + 0.0003)
    return a, b, dict(shapely.geometry.mapping(box))


def carve(area: dict[str, Any]) -> dict[str, Any]:
    return {
        "op": "carve",
        "area": area,
        "crs": "cgcs2000",
        "name": "菜市场网格",
        "unit_name": "三里街菜市场",
        "unit_type": "market",
    }


def test_carve_makes_a_dedicated_grid_with_lineage(engine: Engine) -> None:
    a, b, area = _box_on_edge(engine, same_community=True)
    with engine.begin() as conn:
        plan = plans.create_plan(conn, "carve a market", "planner-1")
        plans.add_edit(conn, plan.id, carve(area), "planner-1")
        stored = plans.get_plan(conn, plan.id).edits[0].params
    assert {a, b} <= plans.OPS["carve"].touches(stored)
    _, lineage = _published(engine, plan.id)
    with engine.connect() as conn:
        new = conn.execute(
            text(
                "SELECT trim(code) AS code, kind, dedicated_unit_name, dedicated_unit_type FROM grid "
                "WHERE kind = 'dedicated' AND dedicated_unit_name = '三里街菜市场'"
            )
        ).one()
    assert new.code[:12] == a[:12] and new.dedicated_unit_type == "market"
    sources = {s: share for g, s, share in lineage if g == new.code}
    assert {a, b} <= set(sources) and sum(sources.values()) == pytest.approx(1.0, abs=1e-6)
    assert {(a, a), (b, b)} <= {(g, s) for g, s, _ in lineage}


def test_carve_across_two_communities_is_refused(engine: Engine) -> None:
    _, _, area = _box_on_edge(engine, same_community=False)
    violation = _refused(engine, carve(area)).details[0]
    assert violation.rule == "different_community" and violation.location is not None


# ---- replace --------------------------------------------------------------------------------


def drawn_grids(engine: Engine) -> tuple[str, str, list[dict[str, Any]]]:
    """Grids a and b redrawn: a loses a strip along b, which becomes a new grid."""
    a, b, strip = neighbours(engine)
    layer = _layer(engine)
    piece = shapely.intersection(layer.grids[a]["geometry"], shapely.geometry.shape(strip))
    rest = shapely.difference(layer.grids[a]["geometry"], piece)

    def feature(code: str | None, geom: Any, name: str) -> dict[str, Any]:
        return {
            "type": "Feature",
            "geometry": dict(shapely.geometry.mapping(geom)),
            "properties": {"code": code, "name": name, "kind": "resident"},
        }

    return (
        a,
        b,
        [
            feature(a, rest, "甲"),
            feature(b, layer.grids[b]["geometry"], "乙"),
            feature(None, piece, "新网格"),
        ],
    )


def replace(codes: list[str], features: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "op": "replace",
        "grids": codes,
        "crs": "cgcs2000",
        "layer": {"type": "FeatureCollection", "features": features},
    }


def test_replace_publishes_the_drawing(engine: Engine) -> None:
    a, b, features = drawn_grids(engine)
    with engine.begin() as conn:
        plan = plans.create_plan(conn, "redraw", "planner-1")
        plans.add_edit(conn, plan.id, replace([a, b], features), "planner-1")
        stored = plans.get_plan(conn, plan.id).edits[0].params
    assert plans.OPS["replace"].touches(stored) == {a, b}
    with engine.connect() as conn:
        shown = preview(conn, plan.id)
    assert shown["valid"] is True and {a, b} <= {g["code"] for g in shown["grids"]}
    _, lineage = _published(engine, plan.id)
    created = {
        g
        for g, _, _ in lineage
        if g[:12] == a[:12] and g not in (a, b) and (g, g) not in {(x, y) for x, y, _ in lineage}
    }
    assert len(created) == 1
    new = created.pop()
    sources = [(s, share) for g, s, share in lineage if g == new]
    assert [s for s, _ in sources] == [a] and sources[0][1] == pytest.approx(1.0, abs=1e-6)
    assert (a, a) in {(g, s) for g, s, _ in lineage}
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT name FROM grid WHERE code = :c"), {"c": a}).scalar_one()
            == "甲"
        )


def test_replace_whose_union_differs_is_refused(engine: Engine) -> None:
    a, b, features = drawn_grids(engine)
    violation = _refused(engine, replace([a, b], features[:2])).details[0]
    assert violation.rule == "union_differs" and violation.location is not None
    assert to_metric(violation.location).area > 1000


def test_replace_naming_a_grid_it_does_not_replace_is_refused(engine: Engine) -> None:
    a, b, features = drawn_grids(engine)
    features[1]["properties"]["code"] = next(
        c for c in sorted(_layer(engine).grids) if c not in (a, b)
    )
    assert _refused(engine, replace([a, b], features)).details[0].rule == "unknown_code"


def test_replace_cannot_make_a_grid_dedicated(engine: Engine) -> None:
    # It used to be stored and previewed; publishing then broke the grid table's CHECK that a
    # dedicated grid names its unit (a 500). Dedicated grids are carved.
    a, b, features = drawn_grids(engine)
    features[0]["properties"]["kind"] = "dedicated"
    violation = _refused(engine, replace([a, b], features)).details[0]
    assert violation.rule == "grid_attributes" and a in violation.message


def test_carve_cutting_a_dedicated_grid_is_refused(engine: Engine) -> None:
    _, _, area = _box_on_edge(engine, same_community=True)
    with engine.begin() as conn:
        plan = plans.create_plan(conn, "carve", "planner-1")
        plans.add_edit(conn, plan.id, carve(area), "planner-1")
        plans.publish_plan(conn, plan.id, "planner-1")
    # The same area again now cuts the dedicated grid just carved.
    shifted = shapely.affinity.translate(shapely.geometry.shape(area), 0.0002, 0.0002)
    violation = _refused(engine, carve(dict(shapely.geometry.mapping(shifted)))).details[0]
    assert violation.rule == "dedicated_cut" and violation.location is not None


def test_the_new_ops_use_the_edits_route(
    fresh_demo_url: str, engine: Engine, tmp_path: Path
) -> None:
    _, _, across = _box_on_edge(engine, same_community=False)
    _, _, inside = _box_on_edge(engine, same_community=True)
    process, base = start_api(fresh_demo_url)
    try:
        with engine.begin() as conn:
            token = keys.create_key(conn, "ops-planner", Role.planner)[1]
        planner = {"Authorization": f"Bearer {token}"}
        plan_id = httpx.post(f"{base}/v1/plans", json={"comment": "ops"}, headers=planner).json()[
            "id"
        ]
        bad = httpx.post(f"{base}/v1/plans/{plan_id}/edits", json=carve(across), headers=planner)
        assert bad.status_code == 422 and "different_community" in bad.text
        good = httpx.post(f"{base}/v1/plans/{plan_id}/edits", json=carve(inside), headers=planner)
        assert good.status_code == 201 and "edit_id" in good.json()
        published = httpx.post(f"{base}/v1/plans/{plan_id}/publish", headers=planner)
        assert published.status_code == 200 and published.json() == {"release": 2}

        # replace with the drawing uploaded as a GeoPackage in GCJ-02 (multipart/form-data)
        a, b, features = drawn_grids(engine)
        path = drawing_file(tmp_path / "drawing.gpkg", features, "gcj02", 4326)
        plan_id = httpx.post(
            f"{base}/v1/plans", json={"comment": "upload"}, headers=planner
        ).json()["id"]
        edits = f"{base}/v1/plans/{plan_id}/edits"
        files = {"file": ("drawing.gpkg", path.read_bytes(), "application/geopackage+sqlite3")}
        wrong = httpx.post(
            edits, data={"op": "transfer", "grids": f"{a},{b}"}, files=files, headers=planner
        )
        assert wrong.status_code == 422 and "replace" in wrong.json()["detail"]
        missing = httpx.post(
            edits,
            data={"op": "replace", "grids": f"{a},{b}"},
            files={"other": ("x.txt", b"x")},
            headers=planner,
        )
        assert missing.status_code == 422 and '"file"' in missing.json()["detail"]
        uploaded = httpx.post(
            edits,
            data={"op": "replace", "grids": f"{a},{b}", "crs": "gcj02", "comment": "上传的图"},
            files=files,
            headers=planner,
        )
        assert uploaded.status_code == 201, uploaded.text
        shown = httpx.get(f"{base}/v1/plans/{plan_id}", headers=planner).json()
        assert [(e["op"], e["comment"]) for e in shown["edits"]] == [("replace", "上传的图")]
        published = httpx.post(f"{base}/v1/plans/{plan_id}/publish", headers=planner)
        assert published.status_code == 200 and published.json() == {"release": 3}
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_a_geojson_drawing_uploads_and_a_bad_file_names_no_internal_path(
    fresh_demo_url: str, engine: Engine
) -> None:
    a, b, features = drawn_grids(engine)
    # As geojson.io and most tools write it: no "name", so its layer is named after the file.
    drawing = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    with engine.begin() as conn:
        token = keys.create_key(conn, "upload-planner", Role.planner)[1]
    planner = {"Authorization": f"Bearer {token}"}
    process, base = start_api(fresh_demo_url)
    try:
        plan_id = httpx.post(
            f"{base}/v1/plans", json={"comment": "geojson"}, headers=planner
        ).json()["id"]
        edits = f"{base}/v1/plans/{plan_id}/edits"
        form = {"op": "replace", "grids": f"{a},{b}", "crs": "cgcs2000"}
        files = {"file": ("drawing.geojson", drawing, "application/geo+json")}
        uploaded = httpx.post(edits, data=form, files=files, headers=planner)
        assert uploaded.status_code == 201, uploaded.text
        for content in (b"not a drawing", b'{"type": "FeatureCollection", "features": ['):
            files = {"file": ("mine.geojson", content, "application/geo+json")}
            bad = httpx.post(edits, data=form, files=files, headers=planner)
            assert bad.status_code == 422
            detail = bad.json()["detail"]
            assert detail.startswith("mine.geojson: cannot be read")
            assert "vsimem" not in bad.text and "pyogrio" not in bad.text
        published = httpx.post(f"{base}/v1/plans/{plan_id}/publish", headers=planner)
        assert published.status_code == 200 and published.json() == {"release": 2}
    finally:
        process.terminate()
        process.wait(timeout=20)


def _drawing_bytes(fmt: str, folder: Path) -> bytes:
    """Two hand-drawn squares, one keeping a grid's code, as the bytes of a ``fmt`` file."""
    squares = [shapely.box(117.30, 31.85, 117.31, 31.86), shapely.box(117.31, 31.85, 117.32, 31.86)]
    frame = gpd.GeoDataFrame(
        {"code": ["340102006004001", None], "name": ["甲", "新"]}, geometry=squares, crs=4326
    )
    if fmt == "geojson":
        return frame.to_json().encode()  # no "name" member, as most tools write it
    if fmt == "gpkg":
        frame.to_file(folder / "drawing.gpkg", layer="grids", driver="GPKG", engine="pyogrio")
        return (folder / "drawing.gpkg").read_bytes()
    frame.to_file(folder / "drawing.shp", driver="ESRI Shapefile", engine="pyogrio")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for part in sorted(folder.glob("drawing.*")):
            archive.write(part, part.name)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp.zip"])
def test_a_drawing_is_read_from_the_bytes_of_each_format(fmt: str, tmp_path: Path) -> None:
    layer, crs = read_drawing(_drawing_bytes(fmt, tmp_path), name=f"drawing.{fmt}")
    assert crs == "wgs84"
    assert [f["properties"].get("code") for f in layer["features"]] == ["340102006004001", None]
    assert [f["geometry"]["type"] for f in layer["features"]] == ["Polygon", "Polygon"]


def test_replace_drawn_in_metres_fits_its_neighbours(engine: Engine) -> None:
    a, b, features = drawn_grids(engine)
    for feature in features:
        metric = to_metric(shapely.geometry.shape(feature["geometry"]))
        feature["geometry"] = dict(shapely.geometry.mapping(metric))
    edit = {**replace([a, b], features), "crs": "EPSG:4548"}
    with engine.begin() as conn:
        plan = plans.create_plan(conn, "redraw in metres", "planner-1")
        plans.add_edit(conn, plan.id, edit, "planner-1")
    release, _ = _published(engine, plan.id)
    assert release == 2


def drawing_file(path: Path, features: list[dict[str, Any]], crs: str, label: int | None) -> Path:
    """The drawing as a GeoPackage: coordinates in ``crs``, labelled EPSG:``label``."""
    frame = gpd.GeoDataFrame.from_features(features)
    frame["geometry"] = [
        to_metric(g) if crs == "EPSG:4548" else geometry_from_storage(g, crs)
        for g in frame.geometry
    ]
    frame = frame.set_crs(label) if label is not None else frame
    frame.to_file(path, layer="grids", driver="GPKG", engine="pyogrio")
    return path


@pytest.mark.parametrize(
    ("crs", "label", "sent"),
    [
        ("bd09", 4326, "bd09"),  # Baidu coordinates, labelled WGS84 as such files usually are
        ("EPSG:4548", 4548, None),  # metres: the file's own CRS, none sent
    ],
)
def test_replace_from_a_geopackage(
    engine: Engine, tmp_path: Path, crs: str, label: int, sent: str | None
) -> None:
    a, b, features = drawn_grids(engine)
    path = drawing_file(tmp_path / "drawing.gpkg", features, crs, label)
    layer, found = read_drawing(path, sent)
    assert found == crs and len(layer["features"]) == 3
    assert [f["properties"].get("code") for f in layer["features"]] == [a, b, None]
    with engine.begin() as conn:
        plan = plans.create_plan(conn, "redraw from a file", "planner-1")
        plans.add_edit(
            conn,
            plan.id,
            {"op": "replace", "grids": [a, b], "layer": layer, "crs": found},
            "planner-1",
        )
    release, lineage = _published(engine, plan.id)
    assert release == 2 and (a, a) in {(g, s) for g, s, _ in lineage}


def test_a_drawing_file_that_is_not_one_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.gpkg").write_bytes(b"not a geopackage")
    with pytest.raises(InvalidInputError, match="cannot be read"):
        read_drawing(tmp_path / "x.gpkg")
