"""The intake form's grid answer: from a click on the map to the grid on screen.

    python -m bench.intake [--clicks 40]

One ``geogrid serve`` as shipped on a throwaway demo database; a dispatcher signs in in
Debian's Chromium and clicks ``--clicks`` random points of the intake form's map
(/console/cases/new). The page keeps the milliseconds from each click to the preview panel
showing the grid (``#preview[data-ms]``): the number a dispatcher feels, target under 100 ms.
Beside it, over HTTP from this process with the same session: ``POST /v1/cases/preview`` (what
the page asks) and ``GET /v1/locate`` for the same points (the fast path that answers from the
snapshot without a database round trip: the ceiling for "which grid holds this point").
Printed: median and 95th percentile of each, and the preview's ratio to locate.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time

import httpx
from sqlalchemy import create_engine

from bench.database import demo_database
from bench.http import _free_port
from geogrid.access import sessions, users
from geogrid.access.roles import Role
from geogrid.settings import AuthSettings

PASSWORD = "bench-password-1"


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=40)
    args = parser.parse_args(argv)
    with demo_database() as url:
        engine = create_engine(url)
        with engine.begin() as conn:
            users.create_user(conn, "bench", Role.dispatcher, PASSWORD, AuthSettings())
        engine.dispose()
        port = _free_port()
        env = {**os.environ, "GEOGRID_DATABASE_URL": url, "GEOGRID_RATE_LIMITS": "false"}
        command = [sys.executable, "-m", "geogrid.cli.main", "serve", "--port", str(port)]
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/v1/health", timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            _run(base, args.clicks)
        finally:
            process.terminate()
            process.wait(timeout=20)


def _run(base: str, clicks: int) -> None:
    from playwright.sync_api import sync_playwright

    rng = random.Random(2026)
    clicked: list[float] = []
    points: list[tuple[float, float]] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
        page.goto(f"{base}/login?next=/console/cases/new")
        page.fill("#username", "bench")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/console/cases/new")
        for _ in range(300):
            if page.evaluate("() => Boolean(window.geogridIntakeMap?.loaded())"):
                break
            page.wait_for_timeout(100)
        box = page.locator("#intake-map").bounding_box()
        cookie = {c["name"]: c["value"] for c in page.context.cookies()}[sessions.COOKIE]
        done = 0
        while done < clicks:
            x = box["x"] + box["width"] * rng.uniform(0.3, 0.7)
            y = box["y"] + box["height"] * rng.uniform(0.3, 0.7)
            page.evaluate("() => document.getElementById('preview').removeAttribute('data-ms')")
            page.mouse.click(x, y)
            page.wait_for_selector("#preview[data-ms]", timeout=10_000)
            if page.get_attribute("#preview", "data-state") == "ok":
                clicked.append(float(page.get_attribute("#preview", "data-ms") or "nan"))
                points.append((float(page.input_value("#lon")), float(page.input_value("#lat"))))
                done += 1
        browser.close()
    client = httpx.Client(
        base_url=base,
        cookies={sessions.COOKIE: cookie},
        headers={"X-CSRF-Token": sessions.csrf_token(cookie)},
        timeout=30,
    )
    timings: dict[str, list[float]] = {"POST /v1/cases/preview": [], "GET /v1/locate": []}
    for lon, lat in points * 3:
        body = {"category": "E0102", "description": "bench", "lon": lon, "lat": lat}
        for name, send in (
            ("POST /v1/cases/preview", lambda b=body: client.post("/v1/cases/preview", json=b)),
            (
                "GET /v1/locate",
                lambda p={"lon": lon, "lat": lat}: client.get("/v1/locate", params=p),
            ),
        ):
            start = time.perf_counter()
            answer = send()
            timings[name].append((time.perf_counter() - start) * 1000)
            answer.raise_for_status()
    print(f"\nintake: {clicks} clicks on the map of /console/cases/new (ms)\n")
    print(f"{'what':<36} {'median':>8} {'p95':>8}")
    print(
        f"{'click -> grid on screen (Chromium)':<36} {statistics.median(clicked):>8.1f} "
        f"{_p95(clicked):>8.1f}"
    )
    for name, found in timings.items():
        print(f"{name:<36} {statistics.median(found):>8.1f} {_p95(found):>8.1f}")
    ratio = statistics.median(timings["POST /v1/cases/preview"]) / statistics.median(
        timings["GET /v1/locate"]
    )
    print(f"\npreview / locate (medians): {ratio:.2f}x; target: click -> grid under 100 ms")


if __name__ == "__main__":
    main()
