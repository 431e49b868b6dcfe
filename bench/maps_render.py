"""How heavy the web maps are and how fast they first render in headless Chromium.

``.venv/bin/python -m bench.maps_render [--repeats 5]``

Makes a throwaway database with the Yaohai demo (dropped at the end), serves the API with
uvicorn on 127.0.0.1, and loads each map in Debian's Chromium (Playwright, network off: any
request outside 127.0.0.1 is aborted and counted). For each map it prints the page's weight
(HTML with its data), the vendored libraries it loads (cached after the first visit), the
server's time to answer, and the time from navigation start to the first frame after the map
script has drawn everything (``geogrid.readyMs``), with a cold cache (new browser context)
and a warm one. The issue's targets: overview page with data <= 3 MB, first render < 3 s.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
from sqlalchemy import create_engine, text

from bench.database import demo_database

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BUDGET_BYTES = 3_000_000
BUDGET_S = 3.0


@contextmanager
def serve(url: str) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "geogrid.api.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env={**os.environ, "GEOGRID_DATABASE_URL": url},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/v1/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def pages(base: str, url: str) -> dict[str, str]:
    engine = create_engine(url)
    with engine.connect() as conn:
        code = conn.execute(text("SELECT min(code) FROM grid WHERE kind = 'resident'")).scalar()
        lon, lat = conn.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM district) d"
            )
        ).one()
    engine.dispose()
    return {
        "overview": f"{base}/maps/overview",
        "grid": f"{base}/maps/grids/{code}",
        "coverage": f"{base}/maps/coverage",
        "locate": f"{base}/maps/locate?lon={lon}&lat={lat}",
    }


def weight(client: httpx.Client, url: str) -> tuple[int, int, int, float]:
    """Bytes of the page, of it gzipped on the wire, of the libraries it loads, and the
    server's seconds to answer."""
    started = time.perf_counter()
    with client.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as answer:
        wire = sum(len(chunk) for chunk in answer.iter_raw())
    took = time.perf_counter() - started
    page = client.get(url)
    assets = re.findall(r'<(?:script src|link rel="stylesheet" href)="([^"]+)"', page.text)
    libraries = sum(len(client.get(urljoin(url, a)).content) for a in assets)
    return len(page.content), wire, libraries, took


def render_times(browser: object, url: str, repeats: int) -> tuple[list[float], list[float], int]:
    """First-render seconds with a cold cache and with a warm one, and outside requests."""
    outside = 0

    def guard(route: object) -> None:
        nonlocal outside
        if urlsplit(route.request.url).hostname == "127.0.0.1":  # type: ignore[attr-defined]
            route.continue_()  # type: ignore[attr-defined]
        else:
            outside += 1
            route.abort()  # type: ignore[attr-defined]

    def once(context: object) -> float:
        page = context.new_page()  # type: ignore[attr-defined]
        page.goto(url, wait_until="load")
        page.wait_for_selector("html[data-geogrid=ready]", timeout=60_000)
        ready = float(page.evaluate("() => geogrid.readyMs")) / 1000
        page.close()
        return ready

    cold, warm = [], []
    for _ in range(repeats):
        context = browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
        context.route("**/*", guard)
        cold.append(once(context))
        warm.append(once(context))
        context.close()
    return cold, warm, outside


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    rows = []
    with demo_database() as url, serve(url) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        client = httpx.Client(timeout=60)
        for name, page in pages(base, url).items():
            weight(client, page)  # warm the server's caches once, as a running service has
            size, wire, libraries, server = weight(client, page)
            cold, warm, outside = render_times(browser, page, args.repeats)
            rows.append((name, size, wire, libraries, server, cold, warm, outside))
        browser.close()
    print(f"maps: first render in headless Chromium ({args.repeats} runs each; median / max)")
    print(
        "| map | page with data | gzipped | libraries (cached) | server | cold cache "
        "| warm cache | outside requests |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, size, wire, libraries, server, cold, warm, outside in rows:
        print(
            f"| {name} | {size / 1e6:.2f} MB | {wire / 1e6:.2f} MB | {libraries / 1e6:.2f} MB "
            f"| {server:.2f} s "
            f"| {statistics.median(cold):.2f} / {max(cold):.2f} s "
            f"| {statistics.median(warm):.2f} / {max(warm):.2f} s | {outside} |"
        )
    overview = rows[0]
    verdict = overview[1] <= BUDGET_BYTES and max(overview[5]) < BUDGET_S
    print(
        f"overview within budget (<= {BUDGET_BYTES / 1e6:.0f} MB, < {BUDGET_S:.0f} s): "
        f"{'yes' if verdict else 'NO'}"
    )


if __name__ == "__main__":
    main()
