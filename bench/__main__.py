"""``python -m bench``: every figure in one run, with the peers side by side.

Makes a throwaway database with the demo loaded (dropped at the end), measures, and prints one
table: figure, value, peer, ratio, target, verdict. See bench/README.md for what each means.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from bench import batch, bulk, cases, growth, http, points, publish, report, serving
from bench.database import demo_database
from bench.report import Figure
from geogrid import db


@dataclass(frozen=True)
class Plan:
    """How much of everything to measure."""

    bulk_points: int = 1_000_000
    postgis_points: int = 100_000
    repeats: int = 3
    growth_grids: int = 100_000
    growth_points: int = 100_000
    growth_repeats: int = 5
    http_points: int = 1000
    rounds: int = 5
    seconds: int = 10
    batch_points: int = 1_000_000
    coverage_warm: int = 20
    cases_rounds: int = cases.ROUNDS
    cases_seconds: int = cases.SECONDS
    cases_profile: int = cases.PROFILE_REQUESTS


QUICK = Plan(
    bulk_points=200_000,
    postgis_points=20_000,
    repeats=1,
    growth_grids=20_000,
    growth_points=20_000,
    growth_repeats=1,
    rounds=1,
    seconds=3,
    batch_points=100_000,
    coverage_warm=5,
    cases_rounds=1,
    cases_seconds=3,
    cases_profile=50,
)


def section(title: str) -> None:
    print(f"\n== {title}", flush=True)


def run(plan: Plan) -> tuple[list[Figure], list[str]]:
    figures: list[Figure] = []
    with demo_database() as url, tempfile.TemporaryDirectory(prefix="geogrid-bench-") as tmp:
        engine = db.make_engine(url)
        machine = report.machine(engine)
        area = points.district(engine)

        section(f"bulk locate: {plan.bulk_points:,} random points in the district's box, core 0")
        x, y = points.in_box(area.bounds, plan.bulk_points)
        figures += bulk.bulk_figures(engine, x, y, plan.postgis_points, plan.repeats)

        section("index and snapshot build, demo layer, core 0")
        figures += bulk.build_figures(engine, plan.repeats)

        section(f"cost growth: demo layer vs {plan.growth_grids:,} Voronoi grids, one process each")
        grown = growth.run(url, plan.growth_grids, plan.growth_points, plan.growth_repeats)
        for line in growth.details(grown):
            print("  " + line, flush=True)
        figures += growth.figures(grown)

        with http.server(url, Path(tmp)) as base:
            if http.have_wrk():
                section(
                    f"HTTP: wrk -t1 -c{http.CONNECTIONS} on core 1, server on core 0, "
                    f"{plan.rounds} rounds of {plan.seconds} s"
                )
                lon, lat = points.in_polygon(area, plan.http_points)
                agreed = http.check_answers(base, lon, lat)
                print(f"  strtree, postgis and /v1/locate agree on {agreed}/{len(lon)} points")
                runs = http.throughput(base, lon, lat, Path(tmp), plan.rounds, plan.seconds)
                for line in http.summary(runs):
                    print("  " + line)
                figures += http.figures(runs, len(lon))
            else:
                print(
                    "\n!! wrk or taskset not found: HTTP throughput skipped "
                    "(apt-get install wrk util-linux)"
                )

            section(f"POST /v1/locate, {plan.batch_points:,} points per format")
            bx, by = points.in_box(area.bounds, plan.batch_points, seed=5)
            figures += batch.figures(
                batch.measure(base, engine, bx, by, plan.repeats), plan.batch_points
            )

            section("GET /v1/coverage, then publish a release and wait until it is served")
            figures += serving.coverage_figures(base, plan.coverage_warm)
            figures += serving.publish_figures(base, engine)

            section(
                f"POST /v1/cases at {cases.RATE:.0f} req/s open-loop from core "
                f"{http.CLIENT_CPU}, beside GET /v1/locate and a bare INSERT, "
                f"{plan.cases_rounds} rounds of {plan.cases_seconds} s"
            )
            figures += cases.measure(
                url,
                base,
                engine,
                seconds=plan.cases_seconds,
                rounds=plan.cases_rounds,
                profile_requests=plan.cases_profile,
            )
        engine.dispose()
    section(
        f"publish a plan with one transfer (two grids), best of {plan.repeats}, own demo database"
    )
    figures += publish.figures(plan.repeats)
    return figures, machine


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smaller sizes, one short round: a smoke test, not figures",
    )
    parser.add_argument("--rounds", type=int, help="HTTP rounds (default 5)")
    parser.add_argument("--seconds", type=int, help="seconds per wrk run (default 10)")
    args = parser.parse_args()
    plan = QUICK if args.quick else Plan()
    if args.rounds or args.seconds:
        plan = replace(
            plan, rounds=args.rounds or plan.rounds, seconds=args.seconds or plan.seconds
        )
    started = time.monotonic()
    figures, machine = run(plan)
    elapsed = time.monotonic() - started
    print("\n" + report.table(figures) + "\n")
    for line in machine:
        print(line)
    short = [f for f in figures if f.passed is False]
    print(
        f"\n{sum(f.passed is True for f in figures)} targets met, {len(short)} fall short"
        + (": " + "; ".join(f.name for f in short) if short else "")
        + f". Whole run: {elapsed / 60:.1f} min."
    )


if __name__ == "__main__":
    main()
