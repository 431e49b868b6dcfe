"""geogrid's vector tiles beside TiPG's, in one run: ``python -m bench.tiles``.

The same throwaway demo database and the same machinery as ``bench.ogc``: TiPG 1.6 from its
own virtualenv (``.bench/tipg-venv``) serving ``tipg_bench.grids`` (a view of the current
release's grids, see ``bench.ogc.COLLECTION_SQL``), every server one uvicorn worker pinned to
core 0 with the database's backends, wrk (1 thread, 16 connections) on core 1.

Two tiles of the grids layer over the district, WebMercatorQuad: one at zoom 14 (about 30
grids) and one at zoom 11 (all ~600). geogrid runs twice: **cold**, with
``GEOGRID_TILE_CACHE_MB=0`` (every request draws the tile in PostGIS, as TiPG does, which has
no tile cache), and **warm**, as shipped (the tile from the per-release cache). TiPG is asked
for the same properties (``properties=``; geogrid's layer has one more, ``release``). Before
timing, both servers' tiles are decoded and must hold the same grids.

Then the release latency: with the warm server running, a new release is published as users
publish one (a layer file loaded, ``geogrid.io.loading``: a ~20 m strip moved between two
grids, as the tests do), and the unpinned tile holding the strip is polled every 5 ms from the
moment the publish commits until it is drawn from the new release; printed per publish.

Run alone: ``python -m bench.tiles [--rounds N] [--seconds S] [--publishes N]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import mapbox_vector_tile
import shapely
from shapely.geometry import shape
from sqlalchemy import create_engine

from bench.database import demo_database
from bench.http import CLIENT_CPU, CONNECTIONS, SERVER_CPU, WrkRun, _free_port, pinned, summary
from bench.ogc import (
    COLLECTION,
    TIPG_VENV,
    WRK_TIMEOUT_S,
    expose_to_tipg,
    pin_backends,
    tipg_env,
    tipg_python,
    tipg_versions,
    wrk,
)
from bench.report import Figure, median, table
from geogrid.tiles.render import BUFFER, EXTENT

#: The grid layer's properties, as TiPG is asked for them.
PROPERTIES = "code,name,kind,community_code,community_name,street_code,street_name"


@dataclass(frozen=True)
class TileRequest:
    """One tile: zoom, row (y) and column (x) of WebMercatorQuad."""

    name: str
    zoom: int
    row: int
    col: int

    @property
    def geogrid(self) -> str:
        return f"/ogc/collections/grids/tiles/WebMercatorQuad/{self.zoom}/{self.row}/{self.col}"

    @property
    def tipg(self) -> str:
        # TiPG's tile path is {z}/{x}/{y}: column before row
        return (
            f"/collections/{COLLECTION}/tiles/WebMercatorQuad/{self.zoom}/{self.col}/{self.row}"
            f"?properties={PROPERTIES}"
        )


#: Tiles over the middle of the district (117.35 E, 31.87 N).
TILES = (TileRequest("grids z14", 14, 6660, 13532), TileRequest("grids z11", 11, 832, 1691))


@contextmanager
def servers(url: str, tipg: Path, workdir: Path) -> Iterator[dict[str, str]]:
    """geogrid cold (no tile cache), geogrid warm (as shipped) and TiPG on core 0."""
    bases: dict[str, str] = {}
    with ExitStack() as stack:
        for name, cache_mb in (("geogrid cold", "0"), ("geogrid warm", "64")):
            port = _free_port()
            base = f"http://127.0.0.1:{port}"
            serve = [sys.executable, "-m", "geogrid.cli.main", "serve", "--port", str(port)]
            env = {**os.environ, "GEOGRID_DATABASE_URL": url, "GEOGRID_TILE_CACHE_MB": cache_mb}
            log = workdir / f"{name.replace(' ', '-')}.log"
            stack.enter_context(pinned(serve, env, log, base + "/v1/health"))
            bases[name] = base
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        tipg_serve = [str(tipg), "-m", "uvicorn", "tipg.main:app", "--host", "127.0.0.1"]
        tipg_serve += ["--port", str(port), "--workers", "1", "--no-access-log"]
        tipg_serve += ["--log-level", "warning", "--no-server-header", "--proxy-headers"]
        ready = f"{base}/collections/{COLLECTION}"
        # the same buffer as geogrid's tiles (TiPG's default is 256), so both draw the same
        env = {**tipg_env(url), "TIPG_TILE_BUFFER": str(BUFFER)}
        stack.enter_context(pinned(tipg_serve, env, workdir / "tipg.log", ready))
        bases["TiPG"] = base
        yield bases


def _codes(content: bytes) -> list[str]:
    """The grid codes in a tile's (only) layer, of the grids with an area inside the tile
    itself (what lies only in the buffer depends on each server's envelope test)."""
    decoded = mapbox_vector_tile.decode(content)
    [layer] = decoded.values()
    inside = shapely.box(0, 0, EXTENT, EXTENT)
    return sorted(
        str(f["properties"]["code"])
        for f in layer["features"]
        if shape(f["geometry"]).intersection(inside).area > 0
    )


def check_tiles(bases: dict[str, str]) -> dict[str, tuple[int, int, int]]:
    """Both servers' tiles hold the same grids; returns (grids, geogrid bytes, TiPG bytes)."""
    found = {}
    with httpx.Client(timeout=60) as client:
        for t in TILES:
            ours = client.get(bases["geogrid warm"] + t.geogrid)
            theirs = client.get(bases["TiPG"] + t.tipg)
            ours.raise_for_status()
            theirs.raise_for_status()
            if _codes(ours.content) != _codes(theirs.content):
                raise AssertionError(f"{t.name}: geogrid and TiPG tiles hold different grids")
            found[t.name] = (len(_codes(ours.content)), len(ours.content), len(theirs.content))
            print(
                f"  {t.name}: {found[t.name][0]} grids in both; geogrid {len(ours.content):,} B, "
                f"TiPG {len(theirs.content):,} B",
                flush=True,
            )
    return found


def throughput(
    url: str, bases: dict[str, str], rounds: int, seconds: int
) -> dict[str, list[WrkRun]]:
    """Each round: per tile, geogrid cold, geogrid warm and TiPG (order reversed every other
    round), after a 2 s warm-up of each target."""
    targets = [
        [
            (f"{server} {t.name}", bases[server] + (t.tipg if server == "TiPG" else t.geogrid))
            for server in ("geogrid cold", "geogrid warm", "TiPG")
        ]
        for t in TILES
    ]
    for group in targets:
        for _, target in group:
            wrk(target, 2)
    runs: dict[str, list[WrkRun]] = {name: [] for group in targets for name, _ in group}
    for round_ in range(rounds):
        for group in targets:
            for name, target in group[::-1] if round_ % 2 else group:
                pin_backends(url)
                run = wrk(target, seconds)
                runs[name].append(run)
                print(
                    f"  round {round_ + 1}/{rounds} {name:<24} {run.requests_per_s:>9,.1f} req/s"
                    f"  p50 {run.p50_ms:7.2f} ms  p99 {run.p99_ms:7.2f} ms"
                    f"  errors {run.errors + run.timeouts}",
                    flush=True,
                )
    return runs


def publish_latency(url: str, base: str, publishes: int) -> list[float]:
    """Seconds from each publish's commit to the first tile drawn from the new release."""
    from geogrid.io import loading
    from geogrid.io.files import write_layer
    from geogrid.io.layers import read_layer_from_db
    from geogrid.settings import ServiceAreaSettings
    from tests.io.test_loading import transfer  # the strip the tests move, reused
    from tests.tiles.test_render import address

    engine = create_engine(url)
    latencies = []
    with tempfile.TemporaryDirectory() as tmp, httpx.Client(timeout=30) as client:
        for n in range(publishes):
            with engine.connect() as conn:
                release = int(
                    conn.exec_driver_sql("SELECT max(id) FROM boundary_release").scalar_one()
                )
                layer = read_layer_from_db(conn, "grids", release)
            changed, gainer, _ = transfer(layer)
            point = changed.set_index("code").geometry[gainer].representative_point()
            tile = address(point.x, point.y, 15)
            path = f"{base}/ogc/collections/grids/tiles/WebMercatorQuad/15/{tile.row}/{tile.col}"
            before = client.get(path)
            assert before.headers["x-boundary-release"] == str(release)
            file = write_layer(changed, Path(tmp) / f"grids-{n}.gpkg", "grids")
            with engine.begin() as conn:
                loading.load_file(conn, file, "grids", "cgcs2000", ServiceAreaSettings())
            committed = time.perf_counter()
            while True:
                answer = client.get(path)
                if answer.headers["x-boundary-release"] == str(release + 1):
                    latency = time.perf_counter() - committed
                    break
                if time.perf_counter() - committed > 30:
                    raise AssertionError(f"release {release + 1} not served within 30 s")
                time.sleep(0.005)
            assert answer.content != before.content, "the new release's tile must differ"
            latencies.append(latency)
            print(
                f"  release {release + 1}: its tile served {latency * 1000:.0f} ms after the commit",
                flush=True,
            )
    engine.dispose()
    return latencies


def figures(
    runs: dict[str, list[WrkRun]], found: dict[str, tuple[int, int, int]], latencies: list[float]
) -> list[Figure]:
    rate = {name: median([r.requests_per_s for r in rs]) for name, rs in runs.items()}
    p50 = {name: median([r.p50_ms for r in rs]) for name, rs in runs.items()}
    out = []
    for t in TILES:
        grids, ours, theirs = found[t.name]
        note = f"{grids} grids; {ours:,} B vs {theirs:,} B"
        tipg = f"TiPG {t.name}"
        for kind in ("cold", "warm"):
            name = f"geogrid {kind} {t.name}"
            goal = (">=", 1.0)
            out.append(Figure(f"{name} req/s", rate[name], "req/s", "TiPG", rate[tipg], goal, note))
            out.append(Figure(f"{name} p50", p50[name], "ms", "TiPG", p50[tipg], note=note))
    if latencies:
        out.append(
            Figure(
                "release to tile, worst",
                max(latencies),
                "s",
                goal=("<=", 1.0),
                note=", ".join(f"{x * 1000:.0f} ms" for x in latencies),
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--publishes", type=int, default=3)
    args = parser.parse_args()
    print(
        f"geogrid tiles vs TiPG: {args.rounds} rounds of {args.seconds} s, servers (one uvicorn "
        f"worker each) and their PostgreSQL backends on core {SERVER_CPU}, wrk -c{CONNECTIONS} "
        f"--timeout {WRK_TIMEOUT_S}s on core {CLIENT_CPU}; load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    tipg = tipg_python()
    print(f"TiPG: {tipg_versions(tipg)} ({TIPG_VENV.name})")
    with demo_database() as url:
        print(expose_to_tipg(url, materialise=False), flush=True)
        with (
            tempfile.TemporaryDirectory(prefix="geogrid-tiles-") as tmp,
            servers(url, tipg, Path(tmp)) as bases,
        ):
            print("tiles (must hold the same grids):", flush=True)
            found = check_tiles(bases)
            runs = throughput(url, bases, args.rounds, args.seconds)
            for line in summary(runs):
                print("  " + line)
            print("publishing (the warm server follows releases by LISTEN/NOTIFY):", flush=True)
            latencies = publish_latency(url, bases["geogrid warm"], args.publishes)
        print(table(figures(runs, found, latencies)))
        print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
