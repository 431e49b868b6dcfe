"""geogrid's OGC API – Features beside TiPG, in one run: ``python -m bench.ogc``.

Both servers read the same throwaway demo database (bench.database.demo_database), both run
as one uvicorn worker pinned to core 0 (bench.http.pinned), with the PostgreSQL backends of
that database pinned there too; wrk runs on core 1:

* ``geogrid serve`` as shipped, asked ``/ogc/collections/grids/...``;
* TiPG (developmentseed/tipg, 1.6.x) from a virtualenv of its own, ``.bench/tipg-venv``
  (made with pip when missing: its pins are not geogrid's), serving only the schema
  ``tipg_bench``, which holds one collection, ``tipg_bench.grids``: each grid of the current
  release (``grid_geometry.valid_to_release IS NULL``) with its attributes, community and
  street (see ``COLLECTION_SQL``), id ``code``.

Three requests (and a spatial filter): a page of 1,000 grids, one grid by id, the CQL2 text
filter ``kind='dedicated'``, ``S_INTERSECTS(geometry,POINT(117.35 31.87))``. Before timing both
servers are asked each one and must answer the same features (ids, counted and printed). Runs
interleave geogrid and TiPG (which goes first alternates by round); figures are medians over
the rounds, and the ratio is geogrid / TiPG. Until geogrid serves ``/ogc`` (a 404), TiPG is
timed alone.

Run alone: ``python -m bench.ogc [--rounds N] [--seconds S] [--tipg-table]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.database import demo_database, pin_postgres
from bench.http import (
    CLIENT_CPU,
    CONNECTIONS,
    REPO,
    SERVER_CPU,
    WrkRun,
    _free_port,
    parse_wrk,
    pinned,
    summary,
)
from bench.report import Figure, median, table

TIPG_VENV = REPO / ".bench" / "tipg-venv"
#: uvloop and httptools as geogrid's uvicorn has them (uvicorn picks them when installed).
TIPG_PACKAGES = ("tipg>=1.6,<1.7", "uvicorn", "uvloop", "httptools")
SCHEMA = "tipg_bench"
COLLECTION = f"{SCHEMA}.grids"
#: What TiPG serves: the grids of the current release, as geogrid's OGC collection has them.
COLLECTION_SQL = """
SELECT g.code::text AS code, g.name, g.kind,
       g.community_code::text AS community_code, c.name AS community_name,
       c.street_code::text AS street_code, s.name AS street_name,
       g.dedicated_unit_name, gg.geom AS geometry
FROM grid g
JOIN grid_geometry gg ON gg.grid_code = g.code AND gg.valid_to_release IS NULL
JOIN community c ON c.code = g.community_code
JOIN street s ON s.code = c.street_code
"""
#: wrk's own timeout is 2 s; a page of 1,000 features with 16 connections on one core can take
#: longer than that on either server, so the runs wait this long instead.
WRK_TIMEOUT_S = 10


@dataclass(frozen=True)
class Request:
    """One request, as each server spells it (path and query after the base URL)."""

    name: str
    geogrid: str
    tipg: str


def _items(collection: str, **query: str | int) -> str:
    return f"/collections/{collection}/items?" + urlencode(query, quote_via=quote)


def requests() -> tuple[Request, ...]:
    """The requests timed, each for both servers."""
    code = "340102001001001"
    cql: dict[str, str | int] = {"filter-lang": "cql2-text", "limit": 1000}
    kind = "kind='dedicated'"
    point = "S_INTERSECTS(geometry,POINT(117.35 31.87))"
    return (
        Request(
            "items limit=1000", "/ogc" + _items("grids", limit=1000), _items(COLLECTION, limit=1000)
        ),
        Request(
            f"item {code}",
            f"/ogc/collections/grids/items/{code}",
            f"/collections/{COLLECTION}/items/{code}",
        ),
        Request(
            f"filter {kind}",
            "/ogc" + _items("grids", filter=kind, **cql),
            _items(COLLECTION, filter=kind, **cql),
        ),
        Request(
            "filter S_INTERSECTS(point)",
            "/ogc" + _items("grids", filter=point, **cql),
            _items(COLLECTION, filter=point, **cql),
        ),
    )


# --- TiPG: its virtualenv, its collection, its server ----------------------------------------


def tipg_python() -> Path:
    """The Python of ``.bench/tipg-venv``, made (``python -m venv``, pip) when missing."""
    python = TIPG_VENV / "bin" / "python"
    check = [str(python), "-c", "import tipg, uvicorn, uvloop, httptools"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    print(f"installing {', '.join(TIPG_PACKAGES)} into {TIPG_VENV} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(TIPG_VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", *TIPG_PACKAGES]
    subprocess.run(pip, check=True)
    subprocess.run(check, check=True)
    return python


def tipg_versions(python: Path) -> str:
    """The versions of TiPG and of the stack under it, in its virtualenv."""
    names = ("tipg", "fastapi", "starlette", "uvicorn", "uvloop", "httptools", "asyncpg")
    script = (
        "from importlib.metadata import version; "
        f"print(', '.join(n + ' ' + version(n) for n in {names!r}))"
    )
    return subprocess.run(
        [str(python), "-c", script], capture_output=True, text=True, check=True
    ).stdout.strip()


def expose_to_tipg(url: str, materialise: bool) -> str:
    """Create ``tipg_bench.grids`` (a view, or a table with a primary key and a GiST index);
    return one line saying what it is."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        if materialise:
            conn.execute(text(f"CREATE TABLE {COLLECTION} AS {COLLECTION_SQL}"))
            conn.execute(text(f"ALTER TABLE {COLLECTION} ADD PRIMARY KEY (code)"))
            conn.execute(text(f"CREATE INDEX ON {COLLECTION} USING gist (geometry)"))
            conn.execute(text(f"ANALYZE {COLLECTION}"))
        else:
            conn.execute(text(f"CREATE VIEW {COLLECTION} AS {COLLECTION_SQL}"))
        count = conn.execute(text(f"SELECT count(*) FROM {COLLECTION}")).scalar_one()
    engine.dispose()
    what = "a table copied from" if materialise else "a view over"
    return (
        f"TiPG serves only schema {SCHEMA}: {COLLECTION}, {what} grid JOIN grid_geometry "
        "(valid_to_release IS NULL) JOIN community JOIN street; columns code (the id), name, "
        "kind, community_code, community_name, street_code, street_name, dedicated_unit_name, "
        f"geometry (MultiPolygon, EPSG:4490); {count} grids"
    )


def tipg_env(url: str) -> dict[str, str]:
    """TiPG's settings: the bench database, schema ``tipg_bench`` only, ``code`` as the id."""
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TIPG_", "DATABASE_URL"))},
        "DATABASE_URL": plain,
        "TIPG_DB_SCHEMAS": f'["{SCHEMA}"]',
        f"TIPG_TABLE_CONFIG__{SCHEMA}_grids__PK": "code",
    }


@contextmanager
def servers(url: str, tipg: Path, workdir: Path) -> Iterator[tuple[str, str]]:
    """``geogrid serve`` and TiPG under uvicorn, one worker each on core 0; yield their URLs."""
    geogrid_port, tipg_port = _free_port(), _free_port()
    geogrid_base = f"http://127.0.0.1:{geogrid_port}"
    tipg_base = f"http://127.0.0.1:{tipg_port}"
    serve = [sys.executable, "-m", "geogrid.cli.main", "serve", "--port", str(geogrid_port)]
    # The options of geogrid serve (geogrid.cli.serving.uvicorn_options) as uvicorn flags.
    tipg_serve = [str(tipg), "-m", "uvicorn", "tipg.main:app", "--host", "127.0.0.1"]
    tipg_serve += ["--port", str(tipg_port), "--workers", "1", "--no-access-log"]
    tipg_serve += ["--log-level", "warning", "--no-server-header", "--proxy-headers"]
    geogrid_env = {**os.environ, "GEOGRID_DATABASE_URL": url}
    with (
        pinned(serve, geogrid_env, workdir / "geogrid-serve.log", geogrid_base + "/v1/health"),
        pinned(
            tipg_serve,
            tipg_env(url),
            workdir / "tipg.log",
            f"{tipg_base}/collections/{COLLECTION}",
        ),
    ):
        yield geogrid_base, tipg_base


# --- answers ----------------------------------------------------------------------------------


def feature_ids(answer: dict[str, object]) -> list[str]:
    """The ids of a FeatureCollection's features, or the one id of a Feature."""
    if answer.get("type") == "Feature":
        return [str(answer["id"])]
    features = answer["features"]
    assert isinstance(features, list)
    return [str(f["id"]) for f in features]


def check_answers(
    reqs: Sequence[Request], geogrid: str, tipg: str
) -> tuple[dict[str, int], set[str]]:
    """Ask both servers every request; return the feature counts and the requests geogrid
    does not serve yet (404, 400 or 501: printed, then timed on TiPG alone). Raises when both
    answer but with different features, or when either fails otherwise."""
    counts: dict[str, int] = {}
    missing: set[str] = set()
    with httpx.Client(timeout=60) as client:
        for r in reqs:
            theirs = client.get(tipg + r.tipg)
            theirs.raise_for_status()
            tipg_ids = feature_ids(theirs.json())
            counts[r.name] = len(tipg_ids)
            ours = client.get(geogrid + r.geogrid)
            if ours.status_code in (400, 404, 501):
                missing.add(r.name)
                print(
                    f"  {r.name:<28} TiPG {len(tipg_ids):>4} features "
                    f"({len(theirs.content):,} B); geogrid /ogc not available "
                    f"(GET {r.geogrid} answered {ours.status_code})",
                    flush=True,
                )
                continue
            ours.raise_for_status()
            geogrid_ids = feature_ids(ours.json())
            print(
                f"  {r.name:<28} geogrid {len(geogrid_ids):>4} features ({len(ours.content):,} B), "
                f"TiPG {len(tipg_ids):>4} features ({len(theirs.content):,} B)",
                flush=True,
            )
            if sorted(geogrid_ids) != sorted(tipg_ids):
                raise AssertionError(
                    f"{r.name}: geogrid and TiPG answer different features "
                    f"({len(geogrid_ids)} vs {len(tipg_ids)}); a ratio would be worthless"
                )
    return counts, missing


# --- timing -----------------------------------------------------------------------------------


def pin_backends(url: str) -> int:
    """Pin every PostgreSQL backend connected to the bench database to the server core, so
    each server's database work counts against the same core as the server; return how many."""
    engine = create_engine(url)
    with engine.connect() as conn:
        pids = conn.execute(
            text(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalars()
        pinned_ = sum(pin_postgres(url, int(pid), {int(SERVER_CPU)}) for pid in pids)
    engine.dispose()
    return pinned_


def wrk(url: str, seconds: int) -> WrkRun:
    """One wrk run on core 1, as bench.http.wrk with a longer timeout (``WRK_TIMEOUT_S``)."""
    command = ["taskset", "-c", CLIENT_CPU, "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s"]
    command += ["--timeout", f"{WRK_TIMEOUT_S}s", "--latency", url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    _drain(url)
    # Errors are counted and shown, not fatal: a 503 (a request that met its deadline on the
    # shared core) is part of what a server does under this load, and the table says so.
    return parse_wrk(out, url, allow_errors=True)


def _drain(url: str) -> None:
    """Wait until the server has worked off what wrk left in flight: a page takes up to a
    second, and the backlog of one run would otherwise be timed in the next one."""
    httpx.get(url, timeout=60).raise_for_status()
    time.sleep(0.5)


def throughput(
    url: str, groups: Sequence[Sequence[tuple[str, str]]], rounds: int, seconds: int
) -> dict[str, list[WrkRun]]:
    """Each group holds the (name, URL) targets of one request: geogrid's then TiPG's (TiPG's
    alone while geogrid has no /ogc). Each round runs the groups in turn, each group's targets
    one after the other, reversed every other round; after a 2 s warm-up of each target."""
    for group in groups:
        for _, target in group:
            wrk(target, 2)
    print(
        f"  pinned {pin_backends(url)} PostgreSQL backends of the bench database to core "
        f"{SERVER_CPU}",
        flush=True,
    )
    runs: dict[str, list[WrkRun]] = {name: [] for group in groups for name, _ in group}
    for round_ in range(rounds):
        for group in groups:
            for name, target in group[::-1] if round_ % 2 else group:
                pin_backends(url)  # any connection opened since
                run = wrk(target, seconds)
                runs[name].append(run)
                print(
                    f"  round {round_ + 1}/{rounds} {name:<38} {run.requests_per_s:>8,.1f} req/s"
                    f"  p50 {run.p50_ms:7.2f} ms  p99 {run.p99_ms:7.2f} ms"
                    f"  errors {run.errors + run.timeouts}",
                    flush=True,
                )
    return runs


def figures(
    reqs: Sequence[Request],
    runs: dict[str, list[WrkRun]],
    counts: dict[str, int],
    missing: set[str],
) -> list[Figure]:
    """Per request: geogrid's req/s and p50 against TiPG's (TiPG's alone while geogrid has no
    /ogc). Ratios are geogrid / TiPG: above 1 is faster for req/s, slower for p50."""
    rate = {name: median([r.requests_per_s for r in rs]) for name, rs in runs.items()}
    p50 = {name: median([r.p50_ms for r in rs]) for name, rs in runs.items()}
    out: list[Figure] = []
    for r in reqs:
        note = f"{counts[r.name]} feature{'s' * (counts[r.name] != 1)}"
        tipg = f"TiPG {r.name}"
        if r.name in missing:
            absent = "geogrid /ogc not available"
            out.append(Figure(f"{tipg} req/s", rate[tipg], "req/s", absent, note=note))
            out.append(Figure(f"{tipg} p50", p50[tipg], "ms", absent, note=note))
            continue
        ours = f"geogrid {r.name}"
        failed = {n: sum(x.errors + x.timeouts for x in runs[n]) for n in (ours, tipg)}
        note += f"; errors/timeouts geogrid {failed[ours]}, TiPG {failed[tipg]}"
        out.append(Figure(f"{ours} req/s", rate[ours], "req/s", "TiPG", rate[tipg], note=note))
        out.append(Figure(f"{ours} p50", p50[ours], "ms", "TiPG", p50[tipg], note=note))
    return out


def run(url: str, rounds: int, seconds: int, materialise: bool) -> list[Figure]:
    tipg = tipg_python()
    print(f"TiPG: {tipg_versions(tipg)} ({TIPG_VENV.relative_to(REPO)})")
    print(expose_to_tipg(url, materialise), flush=True)
    reqs = requests()
    with (
        tempfile.TemporaryDirectory(prefix="geogrid-ogc-") as tmp,
        servers(url, tipg, Path(tmp)) as (geogrid_base, tipg_base),
    ):
        print("answers (must be the same features):", flush=True)
        counts, missing = check_answers(reqs, geogrid_base, tipg_base)
        groups: list[list[tuple[str, str]]] = []
        for r in reqs:
            group = [] if r.name in missing else [(f"geogrid {r.name}", geogrid_base + r.geogrid)]
            groups.append([*group, (f"TiPG {r.name}", tipg_base + r.tipg)])
        runs = throughput(url, groups, rounds, seconds)
    for line in summary(runs):
        print("  " + line)
    return figures(reqs, runs, counts, missing)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument(
        "--tipg-table",
        action="store_true",
        help="serve TiPG a table copied from the join (primary key, GiST index), not a view",
    )
    args = parser.parse_args()
    print(
        f"geogrid /ogc vs TiPG: {args.rounds} rounds of {args.seconds} s, servers (one uvicorn "
        f"worker each) and their PostgreSQL backends on core {SERVER_CPU}, "
        f"wrk -c{CONNECTIONS} --timeout {WRK_TIMEOUT_S}s on core {CLIENT_CPU}",
        flush=True,
    )
    with demo_database() as url:
        print(table(run(url, args.rounds, args.seconds, args.tipg_table)))


if __name__ == "__main__":
    main()
