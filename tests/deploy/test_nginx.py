"""deploy/nginx/geogrid.conf, run by Debian's nginx in front of two `geogrid serve` processes.

The file is used as shipped, inside a minimal ``http { }`` like Debian's own nginx.conf; only
the upstream's ``server`` lines and the ``listen`` lines are changed, to this test's ports.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from geogrid.settings import DatabaseSettings
from tests.conftest import REPO, start_api

CONF = REPO / "deploy" / "nginx" / "geogrid.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"  # scripts/bootstrap.sh installs it


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def site(upstreams: list[str], port: int) -> str:
    """deploy/nginx/geogrid.conf with this test's processes and port."""
    text = CONF.read_text(encoding="utf-8")
    servers = "".join(f"    server {u} max_fails=3 fail_timeout=10s;\n" for u in upstreams)
    text, n = re.subn(r"(?m)^    server 127\.0\.0\.1:\d+ .*\n", "", text)
    assert n == 2, "the upstream's server lines changed: update this test"
    text = text.replace("upstream geogrid {\n", "upstream geogrid {\n" + servers, 1)
    text, n = re.subn(r"(?m)^    listen (80|\[::\]:80);\n", "", text)
    assert n == 2, "the listen lines changed: update this test"
    return text.replace("server {\n", f"server {{\n    listen 127.0.0.1:{port};\n", 1)


def main_conf(folder: Path, site_file: Path) -> str:
    """What Debian's /etc/nginx/nginx.conf gives a site, with this test's own paths."""
    temp = "\n".join(
        f"    {kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""
worker_processes 1;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"};
events {{ worker_connections 256; }}
http {{
    sendfile on;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {folder / "access.log"};
{temp}
    include {site_file};
}}
"""


@dataclass
class Proxy:
    base: str
    processes: list[str]  # the geogrid processes behind it


@pytest.fixture
def proxy(fresh_demo_url: str) -> Iterator[Proxy]:
    settings = {
        "GEOGRID_RATE_FAILED_AUTHENTICATION": "3/minute",
        "GEOGRID_FORWARDED_ALLOW_IPS": "127.0.0.1",
    }
    started = [start_api(fresh_demo_url, settings=settings) for _ in range(2)]
    # Not pytest's tmp_path: nginx's workers run as an unprivileged user when it runs as root,
    # and must reach their temp folders.
    folder = Path(tempfile.mkdtemp(prefix="geogrid-nginx-"))
    folder.chmod(0o755)
    nginx = None
    try:
        port = _free_port()
        (folder / "geogrid.conf").write_text(
            site([base.removeprefix("http://") for _, base in started], port), encoding="utf-8"
        )
        conf = folder / "nginx.conf"
        conf.write_text(main_conf(folder, folder / "geogrid.conf"), encoding="utf-8")
        checked = subprocess.run(
            [NGINX, "-t", "-c", str(conf)], capture_output=True, text=True, check=False
        )
        assert checked.returncode == 0, checked.stderr
        nginx = subprocess.Popen(
            [NGINX, "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(f"{base}/livez", timeout=5)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or nginx.poll() is not None:
                    raise
                time.sleep(0.1)
        yield Proxy(base, [base for _, base in started])
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(timeout=10)
        for process, _ in started:
            process.terminate()
            process.wait(timeout=20)
        shutil.rmtree(folder, ignore_errors=True)


def client(base: str, source: str, **headers: str) -> httpx.Client:
    """A client whose connections come from ``source`` (any 127.x address is this host)."""
    transport = httpx.HTTPTransport(local_address=source)
    return httpx.Client(base_url=base, transport=transport, headers=headers, timeout=30)


def test_nginx_spreads_requests_and_passes_the_real_client_address(proxy: Proxy) -> None:
    direct = {httpx.get(f"{b}/livez", timeout=10).json()["pid"] for b in proxy.processes}
    with client(proxy.base, "127.0.0.3") as first:
        assert {first.get("/livez").json()["pid"] for _ in range(6)} == direct

        # Rate limits see the address the client connects from, not nginx's (127.0.0.1):
        # 127.0.0.3 spends its budget of wrong keys, on both processes together...
        wrong = {"Authorization": "Bearer gg_not_a_key"}
        assert [first.get("/v1/me", headers=wrong).status_code for _ in range(4)] == [
            401,
            401,
            401,
            429,
        ]
    # ... while 127.0.0.4 still has its own, and cannot spend 127.0.0.3's by claiming its
    # address in X-Forwarded-For.
    with client(proxy.base, "127.0.0.4", **{"X-Forwarded-For": "127.0.0.3"}) as second:
        assert second.get("/v1/me", headers=wrong).status_code == 401
        # Nor the scheme: nginx says how the client came (http here).
        spoofed = second.get("/v1/streets", headers={"X-Forwarded-Proto": "https"}).json()
        assert spoofed["links"][0]["href"].startswith("http://127.0.0.1")


def test_nginx_keeps_metrics_inside_compresses_and_bounds_bodies(proxy: Proxy) -> None:
    with httpx.Client(base_url=proxy.base, timeout=30) as outside:
        assert outside.get("/metrics").status_code == 403
        assert httpx.get(f"{proxy.processes[0]}/metrics", timeout=10).status_code == 200

        answer = outside.get("/v1/grids", params={"limit": 50}, headers={"Accept-Encoding": "gzip"})
        assert answer.status_code == 200
        assert answer.headers["content-encoding"] == "gzip"
        assert answer.headers["content-type"].startswith("application/geo+json")
        assert len(answer.json()["features"]) == 50  # httpx has undone the gzip

        # A map page arrives gzipped from geogrid itself; nginx passes it on as it is.
        page = outside.get("/maps/coverage", headers={"Accept-Encoding": "gzip"})
        assert page.headers["content-encoding"] == "gzip" and b"<html" in page.content

    # A body larger than any route takes is refused by nginx before it reads it.
    with socket.create_connection(("127.0.0.1", int(proxy.base.rsplit(":", 1)[1]))) as raw:
        raw.sendall(
            b"POST /v1/locate HTTP/1.1\r\nHost: geogrid\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (64 * 1024 * 1024 + 1)
        )
        assert raw.recv(1024).startswith(b"HTTP/1.1 413")


def _seconds(directive: str) -> float:
    found = re.search(rf"(?m)^\s*{directive} (\d+)s;", CONF.read_text(encoding="utf-8"))
    assert found, directive
    return float(found.group(1))


def test_nginx_waits_longer_than_geogrid_deadlines() -> None:
    """geogrid, not the proxy, ends work that takes too long (with its own 503)."""
    longest = DatabaseSettings().timeout_long_s
    assert _seconds("proxy_read_timeout") > longest
    assert _seconds("proxy_send_timeout") > longest
