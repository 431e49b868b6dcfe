"""A TCP proxy between the API and PostgreSQL that a test can cut, to break connections
mid-request the way a failing network or a restarting database does."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time


class CuttableProxy:
    """Forwards 127.0.0.1:<port> to ``target``; :meth:`cut` drops every connection and
    refuses new ones until :meth:`resume`."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.up = threading.Event()
        self.up.set()
        #: Cleared by :meth:`hang`: connections stay open but nothing is forwarded.
        self.flowing = threading.Event()
        self.flowing.set()
        self.lock = threading.Lock()
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.closed = False
        #: "before" / "after": break the next connection that sends COMMIT, before the
        #: server sees it or after the server ran it but before the client hears back.
        self.break_commit: str | None = None
        self.broke = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.pairs.append((client, upstream))
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        wrote_case = False  # only a COMMIT that stores a case is broken
        try:
            while True:
                if not self.flowing.wait(0.5):
                    continue
                ready, _, _ = select.select([a, b], [], [], 0.5)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        raise OSError("closed")
                    wrote_case = wrote_case or (sock is a and b"INSERT INTO civic_case" in data)
                    if sock is a and wrote_case and self.break_commit and b"COMMIT" in data:
                        self._break(data, b)
                    (b if sock is a else a).sendall(data)
        except (OSError, ValueError):
            pass
        finally:
            for sock in (a, b):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def _break(self, data: bytes, upstream: socket.socket) -> None:
        mode, self.break_commit = self.break_commit, None
        if mode == "after":
            upstream.sendall(data)
            time.sleep(0.3)  # the server commits; its answer is never relayed
        self.broke.set()
        raise OSError(f"connection broken {mode} COMMIT")

    def cut(self) -> None:
        """Drop every open connection (both ways) and refuse new ones."""
        self.up.clear()
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            for sock in pair:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def resume(self) -> None:
        self.up.set()
        self.flowing.set()

    def hang(self) -> None:
        """Stop forwarding without closing anything, as a frozen database host or a stalled
        network path does: connections stay open and new ones are accepted, but nothing
        reaches the other side until :meth:`resume`."""
        self.flowing.clear()

    def close(self) -> None:
        self.closed = True
        self.cut()
        self.listener.close()
