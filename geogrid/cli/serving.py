"""How ``geogrid serve`` runs the API under uvicorn: one process, or N workers on one port.

With several workers each gets a listening socket of its own on the port (``SO_REUSEPORT``),
so the kernel spreads connections evenly over them. uvicorn's own way, one socket shared by
every worker, hands each new connection to whichever worker wakes first: a burst of
keep-alive connections (wrk's, or a proxy's kept-alive upstream connections) may all land on
one worker and stay there while the others idle (bench/README.md, "Workers"). With several
workers, ``/metrics`` answers for all of them through prometheus-client's multiprocess mode.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from typing import Any

from geogrid.settings import ApiSettings

#: prometheus-client's multiprocess mode is on when this names a folder.
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
APP = "geogrid.api.main:create_app"


def serve_api(host: str, port: int, workers: int, settings: ApiSettings) -> None:
    """Serve the API until interrupted: in this process, or in ``workers`` processes."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    options = uvicorn_options(settings)
    if workers == 1 or not hasattr(socket, "SO_REUSEPORT"):
        with metrics_dir(workers):
            uvicorn.run(APP, factory=True, host=host, port=port, workers=workers, **options)
        return
    config = uvicorn.Config(APP, factory=True, host=host, port=port, workers=workers, **options)
    # Bound, never listening: it holds the port, and each worker listens on a copy of its own.
    with metrics_dir(workers), ReusePortSocket.bound(host, port) as sock:
        Multiprocess(config, sockets=[sock]).run()


def uvicorn_options(settings: ApiSettings) -> dict[str, Any]:
    """How ``geogrid serve`` runs uvicorn (bench/launch.py serves its baseline the same way)."""
    options: dict[str, Any] = {
        # The app logs (JSON, one line per request, with its id: docs/operations.md);
        # uvicorn's own access log would be a second, slower line per request.
        "log_config": None,
        "access_log": False,
        "log_level": settings.log_level,
        "server_header": False,  # no banner naming the server software
        # The client address and scheme a trusted reverse proxy forwards (rate limits count
        # per address; links name the public scheme): docs/operations.md, "Behind nginx".
        "proxy_headers": True,
    }
    if settings.forwarded_allow_ips is not None:
        options["forwarded_allow_ips"] = settings.forwarded_allow_ips
    return options


@contextlib.contextmanager
def metrics_dir(workers: int) -> Iterator[None]:
    """With several workers, a private folder where each writes its metrics, so that /metrics
    answers for all of them (prometheus-client's multiprocess mode), removed at the end; an
    operator's own PROMETHEUS_MULTIPROC_DIR is used as it is."""
    if workers == 1 or os.environ.get(MULTIPROC_DIR):
        yield
        return
    folder = tempfile.mkdtemp(prefix="geogrid-metrics-")
    os.environ[MULTIPROC_DIR] = folder  # the workers, started after this, inherit it
    try:
        yield
    finally:
        del os.environ[MULTIPROC_DIR]
        shutil.rmtree(folder, ignore_errors=True)


class ReusePortSocket(socket.socket):
    """A TCP socket bound with ``SO_REUSEPORT`` that a worker process receives as a new socket
    of its own on the same address, not as a copy of this one.

    uvicorn hands its workers the sockets to listen on by pickling them to each new process
    (multiprocessing's spawn); pickled, this socket says how to bind another like it.
    """

    @classmethod
    @contextlib.contextmanager
    def bound(cls, host: str, port: int) -> Iterator[ReusePortSocket]:
        sock = cls._bind(host, port)
        with sock:
            yield sock

    @classmethod
    def _bind(cls, host: str, port: int) -> ReusePortSocket:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = cls(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
        except OSError:
            sock.close()
            raise
        sock.set_inheritable(True)
        return sock

    def __reduce__(self) -> tuple[Any, tuple[str, int]]:
        host, port = self.getsockname()[:2]
        return _worker_socket, (host, port)


def _worker_socket(host: str, port: int) -> socket.socket:
    """In a worker: a socket of its own on the parent's address (it listens once served)."""
    bound = ReusePortSocket._bind(host, port)
    # A plain socket from here on: asyncio and uvicorn need nothing more.
    return socket.socket(bound.family, bound.type, fileno=bound.detach())


__all__ = ["MULTIPROC_DIR", "ReusePortSocket", "serve_api", "uvicorn_options"]
