"""Request bodies are bounded per route and refused before they are read (api/body_size.py)."""

from __future__ import annotations

import json
import select
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from geogrid.api.body_size import BodySizeLimit
from tests.conftest import start_api

MIB = 1024 * 1024


class Echo:
    """An ASGI app that reads the whole body and answers its length (or fails without it)."""

    def __init__(self) -> None:
        self.called = False
        self.disconnected = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.called = True
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.disconnected = True
                raise RuntimeError("the client went away")  # as a route's body read does
            size += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(size).encode()})


def limited(app: Echo) -> BodySizeLimit:
    return BodySizeLimit(app, default=100, routes={"POST /v1/plans/{plan_id}/edits": 1000})


async def _chunks(total: int, size: int = 64) -> AsyncIterator[bytes]:
    for _ in range(0, total, size):
        yield b"x" * size


def test_limits_are_per_route() -> None:
    middleware = limited(Echo())
    assert middleware.limit("POST", "/v1/plans/7/edits") == 1000
    assert middleware.limit("GET", "/v1/plans/7/edits") == 100
    assert middleware.limit("POST", "/v1/plans/7/edits/3") == 100
    assert middleware.limit("POST", "/v1/cases") == 100


@pytest.mark.anyio
async def test_a_long_content_length_is_refused_before_the_app_runs() -> None:
    app = Echo()
    transport = httpx.ASGITransport(app=limited(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answer = await client.post("/v1/cases", content=b"x" * 101)
    assert answer.status_code == 413 and not app.called
    assert answer.headers["connection"] == "close"
    body = answer.json()
    assert body["code"] == "too_large" and body["limit_bytes"] == 100
    assert "101 bytes" in body["detail"] and "POST /v1/cases" in body["detail"]


@pytest.mark.anyio
async def test_a_chunked_body_is_counted_and_refused_past_the_limit() -> None:
    app = Echo()
    transport = httpx.ASGITransport(app=limited(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answer = await client.post("/v1/plans/3/edits", content=_chunks(5000))
        fits = await client.post("/v1/plans/3/edits", content=_chunks(960))
    assert answer.status_code == 413 and app.disconnected
    assert answer.json()["limit_bytes"] == 1000
    assert fits.status_code == 200 and fits.text == "960"


@pytest.mark.anyio
async def test_open311_is_refused_in_its_own_shape() -> None:
    transport = httpx.ASGITransport(app=limited(Echo()))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        as_json = await client.post("/open311/v2/requests.json", content=b"x" * 200)
        as_xml = await client.post("/open311/v2/requests.xml", content=b"x" * 200)
    assert as_json.status_code == 413
    [error] = as_json.json()
    assert error["code"] == 413 and "at most 100 bytes" in error["description"]
    assert as_xml.status_code == 413 and as_xml.text.startswith("<?xml")
    assert "<code>413</code>" in as_xml.text


# ---- a real server -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(demo_url: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    process, base = start_api(demo_url)
    yield process, base
    process.terminate()
    process.wait(timeout=20)


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def stream(
    base: str, path: str, total: int, chunked: bool, media: str = "application/json"
) -> tuple[int, bytes]:
    """POST ``total`` bytes to ``path`` until the server answers; (bytes sent, the answer)."""
    url = urlsplit(base)
    sock = socket.create_connection((url.hostname, url.port))
    head = f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: {media}\r\n"
    head += "Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {total}\r\n\r\n"
    sock.sendall(head.encode())
    piece = b"[" * 65536
    if chunked:
        piece = b"%x\r\n%s\r\n" % (len(piece), piece)
    sent, deadline = 0, time.monotonic() + 60
    sock.setblocking(False)
    while sent < total and time.monotonic() < deadline:
        readable, writable, _ = select.select([sock], [sock], [], 5)
        if readable:
            break  # the server answers before the body is sent
        if writable:
            try:
                sent += sock.send(piece)
            except (BrokenPipeError, ConnectionResetError):
                break
    sock.setblocking(True)
    sock.settimeout(10)
    answer = b""
    try:
        while not _complete(answer) and (chunk := sock.recv(65536)):
            answer += chunk
    except ConnectionResetError:
        pass  # the server closed without reading the rest: the kernel resets the connection
    sock.close()
    return sent, answer


def _complete(answer: bytes) -> bool:
    head, found, body = answer.partition(b"\r\n\r\n")
    if not found:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def status_and_body(answer: bytes) -> tuple[int, Any]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body) if body else None


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_300_mb_is_refused_without_being_read(
    served: tuple[subprocess.Popen[bytes], str], chunked: bool
) -> None:
    process, base = served
    httpx.post(f"{base}/v1/cases", json={}, timeout=10)  # warm the route up
    before = rss_kib(process.pid)
    sent, answer = stream(base, "/v1/cases", 300 * MIB, chunked)
    grown = rss_kib(process.pid) - before
    status, body = status_and_body(answer)
    assert status == 413 and body["code"] == "too_large" and body["limit_bytes"] == MIB
    # The server answered (and closed) long before the client could send it all ...
    assert sent < 40 * MIB, sent
    # ... and never held the body: its memory grew by less than 10 MB.
    assert grown < 10 * 1024, f"{grown} KiB"


def test_the_batch_locate_takes_more_but_not_300_mb(
    served: tuple[subprocess.Popen[bytes], str],
) -> None:
    _, base = served
    sent, answer = stream(base, "/v1/locate", 300 * MIB, chunked=False)
    status, body = status_and_body(answer)
    assert status == 413 and body["limit_bytes"] == 64 * MIB and sent < 40 * MIB
    # A binary batch says its point count in its length: refused before a byte is read.
    sent, answer = stream(
        base,
        "/v1/locate",
        16 * 1_000_001,
        chunked=False,
        media="application/octet-stream",
    )
    status, body = status_and_body(answer)
    assert status == 413 and "1,000,001" in body["detail"] and sent < 16 * 1_000_001
