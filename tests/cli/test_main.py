"""The `geogrid` command against a private demo database: validate, keys, export, backup."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import Engine, create_engine, text
from typer.testing import CliRunner

from geogrid.cli.main import app
from geogrid.io.files import write_layer
from tests.helpers import count, fingerprint


@pytest.fixture
def url(fresh_demo_url: str) -> str:
    return fresh_demo_url


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    engine = create_engine(url)
    yield engine
    engine.dispose()


def run(url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app, list(args), env={"GEOGRID_DATABASE_URL": url, "COLUMNS": "200"}
    )
    return result.exit_code, result.stdout, result.stderr


def violations(url: str, *args: str) -> tuple[int, list[dict[str, object]]]:
    code, out, _ = run(url, "validate", *args, "--geojson", "-")
    collection = json.loads(out)
    assert collection["type"] == "FeatureCollection"
    return code, [f for f in collection["features"]]


def largest_grid(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                text(
                    "SELECT grid_code FROM grid_geometry WHERE valid_to_release IS NULL "
                    "ORDER BY ST_Area(geom::geography) DESC LIMIT 1"
                )
            ).scalar_one()
        )


def corrupt(engine: Engine, code: str, expression: str) -> None:
    """Rewrite one stored geometry behind the loader's back (a manual SQL edit)."""
    with engine.begin() as conn:
        conn.execute(
            text(
                f"UPDATE grid_geometry SET geom = ST_Multi({expression}) "
                "WHERE grid_code = :code AND valid_to_release IS NULL"
            ),
            {"code": code},
        )


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_db_up_takes_a_url_that_names_no_driver(url: str, scheme: str) -> None:
    # The form most users write; SQLAlchemy alone would reach for psycopg 3, not shipped.
    bare = f"{scheme}://{url.split('://', 1)[1]}"
    code, out, err = run(bare, "db", "up")
    assert code == 0, out + err
    assert "database ready" in out and "postgresql+psycopg2://" in out


def test_validate_passes_the_demo(url: str) -> None:
    code, found = violations(url)
    assert (code, found) == (0, [])


@pytest.mark.parametrize(
    "damage, rule",
    [
        ("ST_Buffer(geom, -0.0003)", "gap"),
        ("ST_Buffer(geom, 0.0003)", "overlap"),
        ("ST_Translate(geom, 0.02, 0)", "outside_parent"),
    ],
)
def test_validate_catches_a_broken_layer_and_says_where(
    url: str, engine: Engine, damage: str, rule: str
) -> None:
    grid = largest_grid(engine)
    corrupt(engine, grid, damage)
    code, found = violations(url)
    assert code == 1
    hits = [f for f in found if f["properties"]["rule"] == rule]  # type: ignore[index]
    assert hits, found
    with engine.connect() as conn:
        where = shapely.from_wkb(
            bytes(
                conn.execute(
                    text(
                        "SELECT ST_AsBinary(ST_Buffer(geom, 0.001)) FROM grid_geometry "
                        "WHERE grid_code = :c AND valid_to_release IS NULL"
                    ),
                    {"c": grid},
                ).scalar_one()
            )
        )
    located = [shapely.geometry.shape(f["geometry"]) for f in hits]  # type: ignore[arg-type]
    assert any(where.intersects(g) for g in located)
    if rule != "gap":
        assert any(grid in f["properties"]["codes"] for f in hits)  # type: ignore[index]


def test_validate_names_an_invalid_ring_in_a_file(url: str, engine: Engine, tmp_path: Path) -> None:
    with engine.connect() as conn:
        grids = gpd.read_postgis(
            text(
                "SELECT g.code, g.name, g.kind, gg.geom FROM grid g JOIN grid_geometry gg "
                "ON gg.grid_code = g.code ORDER BY g.code"
            ),
            conn,
            geom_col="geom",
        )
    minx, miny, maxx, maxy = grids.geometry.iloc[7].bounds
    geoms = list(grids.geometry)
    geoms[7] = shapely.MultiPolygon(
        [shapely.Polygon([(minx, miny), (maxx, maxy), (maxx, miny), (minx, maxy)])]
    )
    path = write_layer(grids.set_geometry(geoms), tmp_path / "bowtie.gpkg", "grids")
    code, found = violations(url, str(path))
    assert code == 1
    assert [f["properties"]["rule"] for f in found] == ["invalid_geometry"]  # type: ignore[index]
    assert found[0]["properties"]["codes"] == [grids["code"].iloc[7]]  # type: ignore[index]
    point = shapely.geometry.shape(found[0]["geometry"])  # type: ignore[arg-type]
    assert point.distance(shapely.Point((minx + maxx) / 2, (miny + maxy) / 2)) < 1e-6


def test_load_of_a_bad_file_exits_1_with_the_reason(
    url: str, engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "empty.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}')
    before = fingerprint(engine)
    code, _, err = run(url, "load", str(path), "--layer", "grids", "--crs", "wgs84")
    assert code == 1
    assert "no features" in err
    assert fingerprint(engine) == before


def test_keys_create_list_revoke(url: str, engine: Engine) -> None:
    code, out, err = run(url, "keys", "create", "--role", "dispatcher", "--name", "desk 1")
    assert code == 0 and "shown only now" in err
    secret = out.strip()
    assert secret.startswith("gg_") and len(secret) > 40
    assert (
        count(
            engine,
            "SELECT count(*) FROM api_key WHERE name = 'desk 1' "
            "AND role = 'dispatcher' AND revoked_at IS NULL",
        )
        == 1
    )
    code, out, _ = run(url, "keys", "list")
    assert code == 0 and "desk 1" in out and secret not in out
    code, _, err = run(url, "keys", "create", "--role", "boss", "--name", "x")
    assert code == 1 and "must be one of" in err
    code, _, err = run(url, "keys", "create", "--role", "viewer", "--name", "desk 1")
    assert code == 1 and "exists already" in err
    assert run(url, "keys", "revoke", "desk 1")[0] == 0
    assert (
        count(
            engine, "SELECT count(*) FROM api_key WHERE name = 'desk 1' AND revoked_at IS NOT NULL"
        )
        == 1
    )
    code, _, err = run(url, "keys", "revoke", "nobody")
    assert code == 1 and "no key" in err


@pytest.mark.filterwarnings("ignore:Column names longer", "ignore:Normalized/laundered")
@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".shp"])
def test_export_writes_every_grid(url: str, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"grids{suffix}"
    code, out, _ = run(url, "export", str(path), "--layer", "grids", "--release", "1")
    assert code == 0, out
    frame = gpd.read_file(path)
    assert len(frame) == 596
    assert frame.crs is not None and frame.crs.to_epsg() == 4490


def test_backup_reset_restore_gives_the_same_data(url: str, engine: Engine, tmp_path: Path) -> None:
    run(url, "keys", "create", "--role", "admin", "--name", "keeper")
    before = fingerprint(engine)
    dump = tmp_path / "geogrid.dump"
    code, _, err = run(url, "db", "backup", str(dump))
    assert code == 0, err
    assert dump.stat().st_size > 100_000
    code, _, err = run(url, "db", "reset", "--yes")
    assert code == 0, err
    assert count(engine, "SELECT count(*) FROM grid") == 0
    code, _, err = run(url, "db", "restore", str(dump))
    assert code == 0, err
    assert fingerprint(engine) == before
    assert count(engine, "SELECT count(*) FROM api_key WHERE name = 'keeper'") == 1


def test_restore_of_a_bad_file_changes_nothing(url: str, engine: Engine, tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.dump"
    bogus.write_bytes(b"PGDMP not really")
    before = fingerprint(engine)
    code, _, err = run(url, "db", "restore", str(bogus))
    assert code == 1 and "pg_restore failed" in err
    assert fingerprint(engine) == before
