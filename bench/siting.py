"""Where to build next on the demo: k = 5 sites over every compound, optimum against greedy.

    .venv/bin/python -m bench.siting [--k 5] [--network]

A throwaway demo database (``bench/database.py``; ``GEOGRID_DATABASE_URL`` or the embedded
cluster). For each tier and station kind asked, ``propose_sites`` with every compound as a
candidate (the target: under 10 s), and in the same run the greedy heuristic's covered
households on the same reach matrix (the optimum must be at least as good). With
``--network`` the demo walking network is published first, so reach is walked.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from sqlalchemy import create_engine

from bench.database import demo_database
from geogrid.io import loading
from geogrid.lookup.siting import propose_sites
from geogrid.settings import ServiceAreaSettings

PATHS = Path(__file__).resolve().parent.parent / "data" / "yaohai_demo_paths.gpkg"
CASES = [(5, "doorstep"), (10, "doorstep"), (15, "party_mass")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--network", action="store_true")
    args = parser.parse_args()
    with demo_database() as url:
        engine = create_engine(url)
        if args.network:
            with engine.begin() as conn:
                loading.load_file(conn, PATHS, "paths", None, ServiceAreaSettings())
        print(
            f"k = {args.k}, candidates: every compound; reach {'walked' if args.network else 'circle'}"
        )
        print(
            f"{'tier':>5} {'kind':<10} {'seconds':>8} {'before':>8} {'optimum':>8} "
            f"{'greedy':>8} {'opt/greedy gain':>16} {'proved':>7}"
        )
        worst = 0.0
        for minutes, kind in CASES:
            with engine.connect() as conn:
                propose_sites(conn, minutes=minutes, kind=kind, k=1)  # coverage cache, imports
                started = time.perf_counter()
                found = propose_sites(conn, minutes=minutes, kind=kind, k=args.k)
                seconds = time.perf_counter() - started
            worst = max(worst, seconds)
            gain_opt = found.covered_after - found.covered_before
            gain_greedy = found.greedy_covered_after - found.covered_before
            ratio = f"{gain_opt / gain_greedy:.3f}x" if gain_greedy else "-"
            print(
                f"{minutes:>5} {kind:<10} {seconds:>8.2f} {found.covered_before:>8} "
                f"{found.covered_after:>8} {found.greedy_covered_after:>8} {ratio:>16} "
                f"{found.optimal!s:>7}"
            )
            assert found.covered_after >= found.greedy_covered_after
        engine.dispose()
    print(f"\nslowest: {worst:.2f} s (target under 10 s: {'met' if worst < 10 else 'NOT met'})")


if __name__ == "__main__":
    main()
