"""Creating a case (``POST /v1/cases``) at a fixed rate, beside the read path and the database.

Issue 6: "Creating a case stays under 20 ms p99 at 200 req/s on the demo". The server is
bench.http's (uvicorn, one worker, core 0, its PostgreSQL backends pinned to core 0); the load
comes from this process on core 1.

Load is **open-loop**: request *i* is due at ``t0 + i / rate`` whatever happened to the ones
before it, and its latency runs from that due time to the last byte of the answer, so a stall
shows up in every request it delays (no coordinated omission: wrk without wrk2's ``-R`` measures
from the moment it got round to sending). The client is a few lines of asyncio (uvloop) over
keep-alive HTTP/1.1 connections, one more opened whenever all are busy; ``send lag`` (due
time to write) is printed so the client's own delay can be told apart.

Peers, at the same rate, in rounds that alternate with the case runs:

* ``GET /v1/locate`` at the same points and crs, anonymous: the read path (routing without a
  write, no database);
* the same with the dispatcher's ``Authorization`` header: the read path plus the per-request
  key lookup (the difference is what authentication costs over HTTP);
* ``POST /bench/insert`` (bench/app.py) with the same bodies: the ceiling of a durable write on
  this stack — FastAPI, the same pydantic body model, the route's INSERT and a commit through
  the app's pool — and none of what a case needs besides (key, budget, routing, duplicates, due
  time, outbox): the strongest honest peer for creation's CPU and tail;
* the database floor: the route's own ``case_insert`` statement (case + event) with the same
  values and a commit, from psycopg2 in this process on core 0 (backend pinned to core 0),
  paced the same way: what a durable write costs with no Python web stack at all.

With the outbox (bench/outbox.py, unless ``--no-outbox``): ``cases+outbox`` runs the same
requests with a webhook taking every kind and the shipped worker delivering to a receiver
(bench/receiver.py), beside ``cases`` with no webhook; each outbox run must end with every new
case's event delivered once.

Every case answer must be a 201 naming the grid ``GET /v1/locate`` names for that point, and
``civic_case`` must end up holding exactly one row per 201 (plus the floor's rows). Then, with
the load off, ``submit_case`` is profiled in this process on core 0 (the app in a TestClient,
each statement, commit and Python step timed): where the milliseconds go.

    python -m bench.cases                       # own demo database, ~2 min
    python -m bench.cases --rate 200 --seconds 10 --rounds 2
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import queue
import re
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
import numpy as np
import orjson
import psycopg2
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url

from bench import http, outbox, points
from bench.bulk import one_core
from bench.database import demo_database, pin_postgres
from bench.outbox import Outbox
from bench.report import Figure, table
from geogrid import db
from geogrid.access import keys
from geogrid.access.roles import Role
from geogrid.db import deadlines, prepared
from geogrid.db.sqlfiles import sql
from geogrid.geo import datum

RATE = 200.0
SECONDS = 10  # per round
ROUNDS = 2  # so the case figures pool 2 x 10 s = 20 s of requests
WARMUP = 3  # seconds of each HTTP target before the rounds
POINTS = 1000
PROFILE_REQUESTS = 400
TARGET_P99_MS = 20.0
MAX_CONNECTIONS = 256
STALE_S = 3.0  # uvicorn's keep-alive timeout is 5 s
FLOOR_CONNECTIONS = 10  # the app's pool: pool_size 5 + max_overflow 5
CHANNELS = ("hotline", "app", "rider", "patrol", "web")
NAMES = ("张三", "李四", "王芳", "赵敏", "陈晨", None)


# --------------------------------------------------------------------------- the requests


@dataclass(frozen=True)
class Workload:
    """The same points as case bodies and as locate queries, and the grid each must get."""

    bodies: list[bytes]
    queries: list[str]
    grids: list[str]
    crs: list[str]
    storage: list[tuple[float, float]]


def dispatcher_key(engine: Engine) -> str:
    with engine.begin() as conn:
        _, secret = keys.create_key(conn, f"bench-dispatcher-{os.getpid()}", Role.dispatcher)
    return secret


def workload(engine: Engine, base: str, n: int, seed: int = 11) -> Workload:
    """``n`` random points inside the district, every third sent as GCJ-02 (as phones do)."""
    area = points.district(engine)
    lon, lat = points.in_polygon(area, n, seed=seed)
    with engine.connect() as conn:
        categories = [
            r[0]
            for r in conn.execute(text("SELECT code FROM case_category WHERE active ORDER BY code"))
        ]
    glon, glat = datum.wgs84_to_gcj02(lon, lat)
    bodies, queries, grids, crs_list, storage = [], [], [], [], []
    with httpx.Client(base_url=base, timeout=30) as client:
        for i, (x, y) in enumerate(zip(lon.tolist(), lat.tolist(), strict=True)):
            crs = "gcj02" if i % 3 == 2 else "wgs84"
            qx, qy = (float(glon[i]), float(glat[i])) if crs == "gcj02" else (x, y)
            query = f"lon={qx:.7f}&lat={qy:.7f}&crs={crs}"
            found = client.get(f"/v1/locate?{query}").json()
            if not found.get("grid"):
                raise AssertionError(f"/v1/locate found no grid at {query}")
            name = NAMES[i % len(NAMES)]
            body = {
                "category": categories[i % len(categories)],
                "description": f"基准测试案件 {i}：路口垃圾堆放两天无人清理",
                "lon": round(qx, 7),
                "lat": round(qy, 7),
                "crs": crs,
                "channel": CHANNELS[i % len(CHANNELS)],
                "reporter": {"name": name, "phone": f"138{i:08d}"} if name else {},
            }
            bodies.append(orjson.dumps(body))
            queries.append(query)
            grids.append(found["grid"]["code"])
            crs_list.append(crs)
            storage.append((x, y))  # WGS84 ~ CGCS2000 here; only the floor uses it
    return Workload(bodies, queries, grids, crs_list, storage)


def raw_requests(base: str, work: Workload, target: str, token: str) -> list[bytes]:
    """Ready-to-send HTTP/1.1 requests for one target, in point order."""
    host = urlsplit(base).netloc
    auth = f"Authorization: Bearer {token}\r\n"
    if target in ("cases", "insert"):
        path = "/v1/cases" if target == "cases" else "/bench/insert"
        return [
            (
                f"POST {path} HTTP/1.1\r\nHost: {host}\r\n{auth}"
                f"Content-Type: application/json\r\nContent-Length: {len(b)}\r\n\r\n"
            ).encode()
            + b
            for b in work.bodies
        ]
    header = auth if target == "locate-key" else ""
    return [
        f"GET /v1/locate?{q} HTTP/1.1\r\nHost: {host}\r\n{header}\r\n".encode()
        for q in work.queries
    ]


# --------------------------------------------------------------------------- open-loop load


@dataclass
class Run:
    """One fixed-rate run: per request its due time, send time, end time, status and body."""

    name: str
    rate: float
    due: np.ndarray
    sent: np.ndarray
    done: np.ndarray
    status: np.ndarray
    bodies: list[bytes] = field(default_factory=list, repr=False)
    connections: int = 0
    cpu_s: float = 0.0  # CPU seconds on the server side (process + its backends) over the run
    db_cpu_s: float = 0.0  # of which its PostgreSQL backends
    shed: int = 0  # answered 503 database_busy: a saturated server refusing (nothing stored)

    @property
    def latency_ms(self) -> np.ndarray:
        return cast(np.ndarray, (self.done - self.due) * 1e3)

    @property
    def lag_ms(self) -> np.ndarray:
        return cast(np.ndarray, (self.sent - self.due) * 1e3)

    @property
    def achieved(self) -> float:
        """Answers per second from the first due time to the last answer."""
        return len(self.done) / float(self.done.max() - self.due.min())


def pooled(runs: list[Run]) -> Run:
    """Several runs of one target as one (their latencies pooled)."""
    first = runs[0]
    span = sum(float(r.done.max() - r.due.min()) for r in runs)
    out = Run(
        first.name,
        first.rate,
        np.concatenate([r.due for r in runs]),
        np.concatenate([r.sent for r in runs]),
        np.concatenate([r.done for r in runs]),
        np.concatenate([r.status for r in runs]),
        [b for r in runs for b in r.bodies],
        max(r.connections for r in runs),
        sum(r.cpu_s for r in runs),
        sum(r.db_cpu_s for r in runs),
        sum(r.shed for r in runs),
    )
    out.__dict__["_span"] = span
    return out


def achieved(run: Run) -> float:
    span = run.__dict__.get("_span")
    return len(run.done) / span if span else run.achieved


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
    if length is None:
        raise RuntimeError(f"answer without Content-Length: {head[:200]!r}")
    return status, await reader.readexactly(int(length.group(1)))


async def _drive(
    host: str, port: int, raws: list[bytes], rate: float, seconds: float, offset: int, keep: bool
) -> Run:
    n = int(rate * seconds)
    due = np.empty(n)
    sent = np.empty(n)
    done = np.empty(n)
    status = np.zeros(n, dtype=np.int32)
    bodies: list[bytes] = [b""] * n if keep else []
    # (reader, writer, last used): uvicorn closes a keep-alive connection idle for 5 s, so one
    # idle for STALE_S is replaced (the new connection's set-up counts in that request).
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
    opened = live = 0
    free = asyncio.Condition()

    async def connect() -> tuple[asyncio.StreamReader, asyncio.StreamWriter, float]:
        nonlocal opened, live
        opened += 1
        live += 1
        reader, writer = await asyncio.open_connection(host, port)
        return reader, writer, time.perf_counter()

    for _ in range(8):
        idle.append(await connect())

    async def one(i: int, raw: bytes) -> None:
        nonlocal live
        if not idle and live < MAX_CONNECTIONS:
            idle.append(await connect())
        async with free:
            await free.wait_for(lambda: bool(idle))
            reader, writer, used = idle.pop()
        if time.perf_counter() - used > STALE_S:
            writer.close()
            live -= 1
            reader, writer, used = await connect()
        sent[i] = time.perf_counter()
        writer.write(raw)
        status[i], body = await _read_answer(reader)
        done[i] = time.perf_counter()
        if keep:
            bodies[i] = body
        async with free:
            idle.append((reader, writer, done[i]))
            free.notify()

    tasks = []
    t0 = time.perf_counter() + 0.05
    for i in range(n):
        when = t0 + i / rate
        due[i] = when
        wait = when - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(one(i, raws[(offset + i) % len(raws)])))
    await asyncio.gather(*tasks)
    for _, writer, _ in idle:
        writer.close()
    return Run("", rate, due, sent, done, status, bodies, opened)


def drive(
    base: str,
    name: str,
    raws: list[bytes],
    rate: float,
    seconds: float,
    offset: int = 0,
    keep: bool = False,
) -> Run:
    """Send ``raws`` (cycled from ``offset``) at ``rate`` for ``seconds``, from core 1."""
    parts = urlsplit(base)
    try:
        import uvloop

        runner: Callable[[Any], Run] = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run
    with one_core(int(http.CLIENT_CPU)):
        run = runner(
            _drive(
                parts.hostname or "127.0.0.1", parts.port or 80, raws, rate, seconds, offset, keep
            )
        )
    run.name = name
    return run


# --------------------------------------------------------------------------- CPU accounting


def _cpu_s(pids: set[int]) -> dict[int, float]:
    """User + system CPU seconds of each live process in ``pids``."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def server_pids(base: str) -> set[int]:
    """The uvicorn process bench.http started for ``base`` (found by its port) and its
    workers (with ``--workers N`` they are its children)."""
    port = f"--port\0{urlsplit(base).port}\0"
    found: set[int] = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", encoding="utf-8") as f:
                    cmdline = f.read()
            except OSError:
                continue
            if "bench.app:create_bench_app" in cmdline and port in cmdline:
                found.add(int(entry))
    todo = list(found)
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/task/{pid}/children", encoding="utf-8") as f:
                children = {int(c) for c in f.read().split()}
        except OSError:
            continue
        todo += children - found
        found |= children
    return found


def server_backends(engine: Engine) -> set[int]:
    """PostgreSQL backends of the server's pool (and its LISTEN connection), not ours."""
    with engine.connect() as conn:
        return {
            int(p)
            for p in conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND application_name = 'geogrid' AND pid <> pg_backend_pid()"
                )
            ).scalars()
        }


@contextmanager
def cpu_meter(pids: Callable[[], set[int]]) -> Iterator[list[float]]:
    """CPU seconds used by ``pids()`` (asked before and after) while the block runs."""
    out: list[float] = []
    before = _cpu_s(pids())
    yield out
    after = _cpu_s(pids() | set(before))
    out.append(sum(t - before.get(pid, 0.0) for pid, t in after.items()))


# --------------------------------------------------------------------------- the floor


def _psycopg2_sql() -> str:
    return re.sub(r"(?<!:):([a-z_]+)", r"%(\1)s", sql("case_insert"))


def _floor_rows(engine: Engine, work: Workload, token_actor: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        release = int(conn.execute(text("SELECT max(id) FROM boundary_release")).scalar_one())
    rows = []
    for i, raw in enumerate(work.bodies):
        body = orjson.loads(raw)
        rep = body["reporter"]
        rows.append(
            {
                "category": body["category"],
                "description": body["description"],
                "channel": body["channel"],
                "reporter_name": rep.get("name"),
                "reporter_phone": rep.get("phone"),
                "address": None,
                "photos": [],
                "input_lon": body["lon"],
                "input_lat": body["lat"],
                "input_crs": body["crs"],
                "x": work.storage[i][0],
                "y": work.storage[i][1],
                "compound_id": None,
                "grid_code": work.grids[i],
                "release_id": release,
                "flags": [],
                "actor": token_actor,
                "key": None,
                "hash": f"floor-{i}",
                "details": '{"on_boundary": false, "candidates": []}',
                # what the route stores besides since issue 15: the department, the urgency
                # and the 立案 stage's clock (computed in Python; here given as is)
                "department": None,
                "urgency": "normal",
                "stage_started_at": None,
                "stage_yellow_at": None,
                "stage_due_at": None,
                "created_at": None,
                # the reporter's account (issue 17: a mobile grid's member); the bench's
                # reports come from a system key, as the route's do here
                "account": None,
            }
        )
    return rows


def floor(
    url: str,
    rows: list[dict[str, Any]],
    rate: float,
    seconds: float,
    offset: int = 0,
    connections: int = FLOOR_CONNECTIONS,
) -> Run:
    """The route's INSERT (case + event) and a commit per row, open-loop, on core 0.

    Up to ``connections`` psycopg2 connections (the app's pool holds up to 10), one thread
    each, so commits may overlap as they do in the server; backends pinned to core 0.
    """
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    statement = _psycopg2_sql()
    n = int(rate * seconds)
    due, sent, done = np.empty(n), np.empty(n), np.empty(n)
    status = np.full(n, 201, dtype=np.int32)
    idle: queue.SimpleQueue[Any] = queue.SimpleQueue()
    backends: set[int] = set()
    with one_core(http.server_cpus()):
        opened = []
        for _ in range(connections):
            conn = psycopg2.connect(dsn)
            with conn.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                pid = int(cur.fetchone()[0])
                backends.add(pid)
                pin_postgres(url, pid, http.server_cpus())
            conn.commit()
            opened.append(conn)
            idle.put(conn)

        def one(i: int) -> None:
            conn = idle.get()
            try:
                sent[i] = time.perf_counter()
                with conn.cursor() as cur:
                    cur.execute(statement, rows[(offset + i) % len(rows)])
                    if cur.fetchone() is None:
                        status[i] = 500
                conn.commit()
                done[i] = time.perf_counter()
            finally:
                idle.put(conn)

        try:
            with (
                cpu_meter(lambda: {os.getpid()}) as own_cpu,
                cpu_meter(lambda: backends) as db_cpu,
                ThreadPoolExecutor(connections) as pool,
            ):
                futures = []
                t0 = time.perf_counter() + 0.05
                for i in range(n):
                    due[i] = t0 + i / rate
                    wait = due[i] - time.perf_counter()
                    if wait > 0:
                        time.sleep(wait)
                    futures.append(pool.submit(one, i))
                for f in futures:
                    f.result()
        finally:
            for conn in opened:
                conn.close()
    return Run(
        "floor", rate, due, sent, done, status, [], connections, own_cpu[0] + db_cpu[0], db_cpu[0]
    )


# --------------------------------------------------------------------------- checks


def check_cases(run: Run, work: Workload, offset: int) -> int:
    """Every answer a 201 with a case id, routed to the grid /v1/locate names for the point,
    or a 503 ``database_busy`` (a saturated server shedding load: counted, nothing stored).
    Returns the number of cases created."""
    shed = {
        i for i in np.flatnonzero(run.status == 503).tolist() if b'"database_busy"' in run.bodies[i]
    }
    bad = [i for i in np.flatnonzero(run.status != 201).tolist() if i not in shed]
    if bad:
        i = bad[0]
        raise AssertionError(
            f"{len(bad)} of {len(run.status)} case answers were not 201; "
            f"first: {run.status[i]} {run.bodies[i][:300]!r}"
        )
    run.shed = len(shed)
    ids = set()
    for i, raw in enumerate(run.bodies):
        if i in shed:
            continue
        answer = orjson.loads(raw)
        expected = work.grids[(offset + i) % len(work.grids)]
        if answer["grid"]["code"] != expected or answer["status"] != "reported":
            raise AssertionError(
                f"case {answer['id']} went to {answer['grid']['code']}, /v1/locate says {expected}"
            )
        ids.add(answer["id"])
    if len(ids) != len(run.bodies) - len(shed):
        raise AssertionError("two answers named the same case id")
    return len(ids)


def check_ok(run: Run) -> None:
    bad = np.flatnonzero(run.status != (201 if run.name in ("floor", "insert") else 200))
    if len(bad):
        raise AssertionError(
            f"{run.name}: {len(bad)} of {len(run.status)} answers failed "
            f"(first status {run.status[int(bad[0])]})"
        )


def case_rows(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (
            int(conn.execute(text("SELECT count(*) FROM civic_case")).scalar_one()),
            int(
                conn.execute(
                    text("SELECT count(*) FROM case_event WHERE kind = 'created'")
                ).scalar_one()
            ),
        )


# --------------------------------------------------------------------------- the profile


class _Phases:
    """Per-request wall time by phase, filled by hooks on the engine and wrapped functions."""

    def __init__(self) -> None:
        self.current: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)
        self.requests: list[dict[str, float]] = []

    def add(self, label: str, seconds: float) -> None:
        self.current[label] += seconds
        self.counts[label] += 1

    def wrap(self, owner: Any, name: str, label: str, cpu: bool = False) -> Callable[[], None]:
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started, thread_cpu = time.perf_counter(), time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.add(label, time.perf_counter() - started)
                if cpu:
                    self.add(f"{label}, CPU of its thread", time.thread_time() - thread_cpu)

        setattr(owner, name, timed)
        return lambda: setattr(owner, name, original)

    def next_request(self) -> None:
        self.requests.append(dict(self.current))
        self.current = defaultdict(float)


_STATEMENTS = (
    ("FROM api_key", "sql: key lookup (auth)"),
    ("rate_limit_counter", "sql: write budget (one upsert)"),
    ("SET statement_timeout", "sql: checkout's SET statement_timeout"),
    ("pg_backend_pid", "sql: SELECT pg_backend_pid()"),
    ("pg_advisory_xact_lock_shared", "sql: shared publish lock"),
    ("AS current_release", "sql: intake (category, levels, department, calendar)"),
    ("AS distance_m", "sql: similar open cases"),
    ("WITH new_case", "sql: INSERT case + event"),
    ("notify_event", "sql: outbox emit"),
    ("FROM case_view", "sql: read back from case_view"),
)


def _statement_label(statement: str) -> str:
    if statement.startswith("EXECUTE "):  # a prepared statement: label it by its text
        name = statement.split()[1].split("(")[0]
        known = [s.prepare for s in list(prepared._compiled.values()) if s.name == name]
        statement = known[0] if known else statement
    return next((label for key, label in _STATEMENTS if key in statement), "sql: other")


@contextmanager
def _hooks(engine: Engine, phases: _Phases) -> Iterator[None]:
    import geogrid.api.deps
    import geogrid.api.routes.cases
    import geogrid.cases.records
    import geogrid.cases.report

    undo = [
        phases.wrap(geogrid.api.deps, "_authenticate", "auth total (checkout .. return)", cpu=True),
        phases.wrap(geogrid.cases.records, "point_to_storage", "py: datum to storage"),
        phases.wrap(geogrid.cases.records, "route", "py: route in snapshot"),
        phases.wrap(geogrid.cases.report.CaseReport, "fingerprint", "py: fingerprint (sha256)"),
        phases.wrap(geogrid.cases.records, "case_from_row", "py: Case from row"),
        phases.wrap(geogrid.api.routes.cases, "case_body", "py: answer dict"),
        phases.wrap(geogrid.api.routes.cases, "json_response", "py: orjson + Response"),
        # the route calls the package's submit_case (geogrid.cases), so that is the one to wrap
        phases.wrap(geogrid.cases, "submit_case", "submit_case total", cpu=True),
        phases.wrap(engine.dialect, "do_commit", "commit (WAL flush)"),
        phases.wrap(engine.dialect, "do_rollback", "rollback on return (auth conn)"),
    ]
    starts: dict[int, float] = {}

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        starts[id(cursor)] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        phases.add(_statement_label(statement), time.perf_counter() - starts.pop(id(cursor)))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
        for u in reversed(undo):
            u()


@contextmanager
def _set_on_every_checkout() -> Iterator[None]:
    """What-if: every checkout sends its ``SET statement_timeout`` (a round trip), as it did
    before a connection remembered its timeout and read its liveness off the socket."""
    saved = deadlines._server_spoke
    deadlines._server_spoke = lambda dbapi_connection: True
    try:
        yield
    finally:
        deadlines._server_spoke = saved


def _variant(
    client: Any,
    engine: Engine,
    backends: Callable[[], set[int]],
    bodies: list[bytes],
    n: int,
    headers: dict[str, str],
    each: Callable[[], None] | None = None,
) -> dict[str, float]:
    """``n`` sequential creations: mean and p99 wall, this process's and the backends' CPU."""
    walls = []
    pids = backends()
    db_before = _cpu_s(pids)
    cpu_before = time.process_time()
    for i in range(n):
        started = time.perf_counter()
        answer = client.post("/v1/cases", content=bodies[i % len(bodies)], headers=headers)
        walls.append(time.perf_counter() - started)
        if answer.status_code != 201:
            raise AssertionError(f"profile: {answer.status_code} {answer.text}")
        if each is not None:
            each()
    cpu = time.process_time() - cpu_before
    db_after = _cpu_s(pids | backends())
    db_cpu = sum(t - db_before.get(pid, 0.0) for pid, t in db_after.items())
    return {
        "wall": 1e3 * float(np.mean(walls)),
        "p99": 1e3 * float(np.percentile(walls, 99)),
        "cpu": 1e3 * cpu / n,
        "db_cpu": 1e3 * db_cpu / n,
    }


def _plan_times(engine: Engine) -> tuple[float, float]:
    """Planning and execution ms of the read-back ``SELECT * FROM case_view WHERE id``."""
    with engine.connect() as conn:
        case_id = conn.execute(text("SELECT max(id) FROM civic_case")).scalar_one()
        out = "\n".join(
            r[0]
            for r in conn.execute(
                text("EXPLAIN (ANALYZE, SUMMARY) SELECT * FROM case_view WHERE id = :id"),
                {"id": case_id},
            )
        )
    planning = re.search(r"Planning Time: ([\d.]+) ms", out)
    execution = re.search(r"Execution Time: ([\d.]+) ms", out)
    return (
        float(planning.group(1)) if planning else float("nan"),
        float(execution.group(1)) if execution else float("nan"),
    )


def profile(
    url: str, main_engine: Engine, token: str, work: Workload, n: int
) -> tuple[list[str], dict[str, float]]:
    """``n`` sequential case creations through the app in this process, on core 0.

    Each statement, commit and Python step is timed (wall), then the same ``n``
    requests run as they are and under what-if patches (in this process only), with CPU
    per request. Returns printable lines and the mean ms per request of each phase.
    """
    from fastapi.testclient import TestClient

    from bench.app import create_bench_app

    saved = {k: os.environ.get(k) for k in ("GEOGRID_DATABASE_URL", "BENCH_CPUS")}
    os.environ.update(GEOGRID_DATABASE_URL=url, BENCH_CPUS=http.SERVER_CPU)
    phases = _Phases()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    variants: dict[str, dict[str, float]] = {}
    try:
        with one_core(http.server_cpus()), TestClient(create_bench_app()) as client:
            engine = client.app.state.engine  # type: ignore[attr-defined]

            def backends() -> set[int]:
                return server_backends(main_engine)

            for i in range(50):  # warm-up: pool filled, plans cached
                client.post("/v1/cases", content=work.bodies[i], headers=headers)
            rtt = []
            with engine.connect() as conn:
                for _ in range(200):
                    started = time.perf_counter()
                    conn.exec_driver_sql("SELECT 1")
                    rtt.append(time.perf_counter() - started)
            with _hooks(engine, phases):
                phased = _variant(
                    client, engine, backends, work.bodies, n, headers, phases.next_request
                )
            variants["as is"] = _variant(client, engine, backends, work.bodies, n, headers)
            with _set_on_every_checkout():
                variants["SET on every checkout (before)"] = _variant(
                    client, engine, backends, work.bodies, n, headers
                )
            limits, client.app.state.rate_limits = client.app.state.rate_limits, None
            try:  # the write budget's whole cost: its thread hop, checkout and upsert
                variants["no write budget counted"] = _variant(
                    client, engine, backends, work.bodies, n, headers
                )
            finally:
                client.app.state.rate_limits = limits
            variants["as is (again)"] = _variant(client, engine, backends, work.bodies, n, headers)
            planning, execution = _plan_times(engine)
    finally:
        for k, value in saved.items():
            if value is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = value
    labels = sorted({k for r in phases.requests for k in r})
    mean = {k: 1e3 * sum(r.get(k, 0.0) for r in phases.requests) / n for k in labels}
    p99 = {
        k: 1e3 * float(np.percentile([r.get(k, 0.0) for r in phases.requests], 99)) for k in labels
    }
    lines = [
        f"{n} sequential POST /v1/cases in this process on core 0 (TestClient), wall ms "
        "per request, mean / p99:",
        f"  {'request (TestClient, all hooks on)':<52} {phased['wall']:7.3f} / "
        f"{phased['p99']:7.3f}",
    ]
    order = [
        "auth total (checkout .. return)",
        "auth total (checkout .. return), CPU of its thread",
        "sql: key lookup (auth)",
        "rollback on return (auth conn)",
        "submit_case total",
        "submit_case total, CPU of its thread",
        "sql: SELECT pg_backend_pid()",
        "sql: category",
        "py: datum to storage",
        "py: route in snapshot",
        "sql: shared lock + current release",
        "py: fingerprint (sha256)",
        "sql: INSERT case + event",
        "sql: read back from case_view",
        "py: Case from row",
        "commit (WAL flush)",
        "py: check the body",
        "py: answer dict",
        "py: orjson + Response",
        "sql: other",
    ]
    for k in [k for k in order if k in mean] + [k for k in labels if k not in order]:
        calls = phases.counts[k] / n
        lines.append(f"  {k:<52} {mean[k]:7.3f} / {p99[k]:7.3f}   ({calls:.1f} per request)")
    lines.append(
        f"  {'round trip SELECT 1 (median, for scale)':<52} {1e3 * float(np.median(rtt)):7.3f}"
    )
    lines.append(
        f"  case_view read-back: planning {planning:.3f} ms, execution "
        f"{execution:.3f} ms (EXPLAIN ANALYZE, one case)"
    )
    lines.append(
        f"what-if, {n} requests each, ms per request: wall mean / p99; CPU of this "
        "process (app + TestClient) + its backends"
    )
    for name, v in variants.items():
        lines.append(
            f"  {name:<56} {v['wall']:7.3f} / {v['p99']:7.3f};  CPU {v['cpu']:6.3f}"
            f" + {v['db_cpu']:6.3f} = {v['cpu'] + v['db_cpu']:6.3f}"
        )
    mean.update({f"variant {k}": v["cpu"] + v["db_cpu"] for k, v in variants.items()})
    return lines, mean


# --------------------------------------------------------------------------- the section


def _line(run: Run) -> str:
    lat = run.latency_ms
    p50, p90, p99 = np.percentile(lat, [50, 90, 99])
    return (
        f"{run.name:>11}: {len(lat):5d} req at {run.rate:.0f}/s -> {achieved(run):6.1f}/s; "
        f"p50 {p50:6.2f}  p90 {p90:6.2f}  p99 {p99:6.2f}  max {lat.max():7.2f} ms; "
        f"send lag p99 {np.percentile(run.lag_ms, 99):5.2f} ms; "
        f"server CPU {1e3 * run.cpu_s / len(lat):.2f} ms/req "
        f"(db {1e3 * run.db_cpu_s / len(lat):.2f}); {run.connections} conn"
        + (f"; {run.shed} refused 503 database_busy (load shed)" if run.shed else "")
    )


def measure(
    url: str,
    base: str,
    engine: Engine,
    rate: float = RATE,
    seconds: float = SECONDS,
    rounds: int = ROUNDS,
    warmup: float = WARMUP,
    n_points: int = POINTS,
    profile_requests: int = PROFILE_REQUESTS,
    box: Outbox | None = None,
) -> list[Figure]:
    """The section: warm-up, alternating rounds, checks, the profile; returns figures."""
    token = dispatcher_key(engine)
    work = workload(engine, base, n_points)
    print(
        f"  {len(work.bodies)} points in the district ({work.crs.count('gcj02')} sent as "
        f"GCJ-02) in {len(set(work.grids))} grids",
        flush=True,
    )
    raws = {
        t: raw_requests(base, work, t, token) for t in ("cases", "insert", "locate", "locate-key")
    }
    raws["cases+outbox"] = raws["cases"]
    floor_rows = _floor_rows(engine, work, f"bench-floor-{os.getpid()}")
    pids = server_pids(base)
    if not pids:
        raise RuntimeError(f"no uvicorn process found serving {base}")

    def served(name: str, start: int, secs: float) -> Run:
        with (
            cpu_meter(lambda: pids) as app_cpu,
            cpu_meter(lambda: server_backends(engine)) as db_cpu,
        ):
            run = drive(base, name, raws[name], rate, secs, start, keep=name.startswith("cases"))
        run.cpu_s, run.db_cpu_s = app_cpu[0] + db_cpu[0], db_cpu[0]
        return run

    rows_before = case_rows(engine)
    created = 0
    offset = {"cases": 0, "insert": 0, "locate": 0, "locate-key": 0, "floor": 0}

    def advance(name: str, n: int) -> int:
        key = "cases" if name == "cases+outbox" else name  # the same points, never repeated
        start = offset[key]
        offset[key] = (start + n) % len(work.bodies)
        return start

    for name in ("cases", "insert", "locate", "locate-key"):
        start = advance(name, int(rate * warmup))
        run = served(name, start, warmup)
        if name == "cases":
            created += check_cases(run, work, start)
        else:
            check_ok(run)
            created += len(run.status) if name == "insert" else 0
        print(f"  warm-up {_line(run)}", flush=True)
    runs: dict[str, list[Run]] = defaultdict(list)
    targets = [
        "cases",
        *(["cases+outbox"] if box else []),
        "insert",
        "locate",
        "locate-key",
        "floor",
    ]
    for round_ in range(rounds):
        shift = round_ % len(targets)
        for name in targets[shift:] + targets[:shift]:
            start = advance(name, int(rate * seconds))
            waited = None
            if name == "floor":
                run = floor(url, floor_rows, rate, seconds, start)
                created += len(run.status)
            elif name == "cases+outbox" and box is not None:
                box.subscribe()
                with (
                    cpu_meter(box.worker_pids) as worker_cpu,
                    cpu_meter(lambda: {box.receiver_pid}) as receiver_cpu,
                ):
                    run = served(name, start, seconds)
                    made = check_cases(run, work, start)
                    waited = box.drain_and_unsubscribe(made)
                created += made
                box.worker_cpu_s += worker_cpu[0]
                box.receiver_cpu_s += receiver_cpu[0]
            else:
                run = served(name, start, seconds)
                if name == "cases":
                    created += check_cases(run, work, start)
                else:
                    check_ok(run)
                    created += len(run.status) if name == "insert" else 0
            run.bodies = []
            runs[name].append(run)
            print(f"  round {round_ + 1}/{rounds} {_line(run)}", flush=True)
            if waited is not None:
                print(
                    f"  round {round_ + 1}/{rounds} outbox: {made} case.reported "
                    f"events delivered, each at the first try; emptied {waited:.1f} s after "
                    "the run",
                    flush=True,
                )
    rows_after = case_rows(engine)
    grew = (rows_after[0] - rows_before[0], rows_after[1] - rows_before[1])
    if grew != (created, created):
        raise AssertionError(
            f"civic_case grew by {grew[0]} rows and case_event by {grew[1]} "
            f"'created' events, but {created} inserts were answered 201"
        )
    print(
        f"  civic_case grew by {grew[0]} rows = {created} answered 201 (HTTP and floor); "
        f"as many 'created' events",
        flush=True,
    )
    all_runs = {name: pooled(rs) for name, rs in runs.items()}
    print("  pooled over rounds:")
    for run in all_runs.values():
        print("  " + _line(run), flush=True)

    figures = _figures(all_runs, rate, seconds * rounds)
    if box is not None:
        figures += _outbox_figures(all_runs, rate, seconds * rounds, box)
    p99 = float(np.percentile(all_runs["cases"].latency_ms, 99))
    if profile_requests:
        print(
            f"  profile (p99 {p99:.1f} ms {'>=' if p99 >= TARGET_P99_MS else '<'} "
            f"{TARGET_P99_MS:.0f} ms):",
            flush=True,
        )
        lines, _ = profile(url, engine, token, work, profile_requests)
        for line in lines:
            print("  " + line, flush=True)
    return figures


def _figures(runs: dict[str, Run], rate: float, seconds: float) -> list[Figure]:
    def pct(name: str, q: float) -> float:
        return float(np.percentile(runs[name].latency_ms, q))

    note = f"{rate:.0f} req/s open-loop, {seconds:.0f} s"
    cases = "POST /v1/cases"
    out = [Figure(f"{cases} p99", pct("cases", 99), "ms", goal=("<", TARGET_P99_MS), note=note)]
    out += [Figure(f"{cases} p{q}", pct("cases", q), "ms", note=note) for q in (50, 90)]
    out += [
        Figure(f"{cases} max", float(runs["cases"].latency_ms.max()), "ms", note=note),
        Figure(
            f"{cases} achieved rate", achieved(runs["cases"]), "req/s", "offered", rate, note=note
        ),
        Figure(
            f"{cases} refused 503 database_busy (load shed)",
            runs["cases"].shed,
            "req",
            "sent",
            len(runs["cases"].status),
            note=note,
        ),
    ]
    peers = (
        ("locate", "GET /v1/locate (anonymous)"),
        ("locate-key", "GET /v1/locate with the dispatcher key"),
        ("insert", "POST /bench/insert (pydantic body, INSERT + commit)"),
        ("floor", "psycopg2 INSERT case + event, commit"),
    )
    for q in (50, 99):
        for name, label in peers:
            out.append(
                Figure(f"{cases} p{q}", pct("cases", q), "ms", label, pct(name, q), note=note)
            )

    def cpu(name: str) -> float:
        return 1e3 * runs[name].cpu_s / len(runs[name].done)

    label = f"{cases} server CPU per request (cores {http.SERVER_CPU})"
    out.append(
        Figure(
            label,
            cpu("cases"),
            "ms",
            "budget at this rate",
            1e3 / rate,
            note="server + its backends",
        )
    )
    out += [
        Figure(
            label,
            cpu("cases"),
            "ms",
            f"{peer} (server + backends)",
            cpu(name),
            note="server + its backends",
        )
        for name, peer in peers[:3]
    ]
    out.append(
        Figure(
            label,
            cpu("cases"),
            "ms",
            "psycopg2 floor (client + backends)",
            cpu("floor"),
            note="server + its backends",
        )
    )
    return out


def _outbox_figures(runs: dict[str, Run], rate: float, seconds: float, box: Outbox) -> list[Figure]:
    """Creation with the outbox (a webhook, a worker delivering) beside creation without."""
    note = f"{rate:.0f} req/s open-loop, {seconds:.0f} s; load {os.getloadavg()[0]:.2f}"
    with_, without = runs["cases+outbox"].latency_ms, runs["cases"].latency_ms
    label = "POST /v1/cases with the outbox"
    out = [
        Figure(
            f"{label} p99",
            float(np.percentile(with_, 99)),
            "ms",
            goal=("<", TARGET_P99_MS),
            note=note,
        )
    ]
    out += [
        Figure(
            f"{label} p{q}",
            float(np.percentile(with_, q)),
            "ms",
            "without (no webhook: nothing stored)",
            float(np.percentile(without, q)),
            note=note,
        )
        for q in (50, 90, 99)
    ]
    out.append(
        Figure(
            "outbox emptied after the run",
            box.drain_s,
            "s",
            note=f"{box.events} events delivered, each once, worker on cores {http.SERVER_CPU}",
        )
    )

    def cpu(name: str) -> float:
        return 1e3 * runs[name].cpu_s / len(runs[name].done)

    out += [
        Figure(
            "POST /v1/cases server CPU per request with the outbox",
            cpu("cases+outbox"),
            "ms",
            "without",
            cpu("cases"),
            note="server + its backends",
        ),
        Figure(
            "delivery worker CPU per event (worker + its backends)",
            1e3 * box.worker_cpu_s / max(1, box.events),
            "ms",
            note=f"from each run's start until the outbox was empty; cores {http.SERVER_CPU}",
        ),
        Figure(
            "webhook receiver CPU per event (bench.receiver: verify, keep)",
            1e3 * box.receiver_cpu_s / max(1, box.events),
            "ms",
            note=f"core {http.CLIENT_CPU}, beside the load",
        ),
    ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.cases", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--rate", type=float, default=RATE, help="requests per second (200)")
    parser.add_argument(
        "--seconds",
        type=float,
        default=SECONDS,
        help="seconds per run (10); the case figures pool all rounds",
    )
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="rounds (2)")
    parser.add_argument("--warmup", type=float, default=WARMUP, help="warm-up seconds (3)")
    parser.add_argument(
        "--profile",
        type=int,
        default=PROFILE_REQUESTS,
        help="requests to profile in-process afterwards (0: none)",
    )
    parser.add_argument(
        "--no-outbox",
        action="store_true",
        help="leave out the runs with a webhook and a delivery worker (bench/outbox.py)",
    )
    parser.add_argument(
        "--server-cores",
        default=http.SERVER_CPU,
        help="the cores (a taskset list) the server, its database backends and the delivery "
        'worker share: "0" (default: one core, the client alone on core 1) or "0,1" (the '
        "whole machine, as a deployment on it would run, the client sharing core 1)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server worker processes (1; a whole-machine run may use as many as its cores)",
    )
    args = parser.parse_args()
    from bench import report

    http.SERVER_CPU = args.server_cores

    # The server's write budget (300/minute per key) would refuse most of the load: lifted,
    # not switched off, so each request still pays for counting it (as bench.load does).
    os.environ["GEOGRID_RATE_WRITES"] = "1000000/minute"

    with demo_database() as url, tempfile.TemporaryDirectory(prefix="geogrid-bench-") as tmp:
        engine = db.make_engine(url)
        machine = report.machine(engine)
        print(
            f"\n== POST /v1/cases at {args.rate:.0f} req/s open-loop, client on core "
            f"{http.CLIENT_CPU}, server ({args.workers} worker(s)) on cores {http.SERVER_CPU}, "
            f"{args.rounds} rounds of "
            f"{args.seconds:.0f} s",
            flush=True,
        )
        with (
            http.server(url, Path(tmp), args.workers) as base,
            contextlib.nullcontext(None)
            if args.no_outbox
            else outbox.outbox(url, engine, Path(tmp)) as box,
        ):
            figures = measure(
                url,
                base,
                engine,
                args.rate,
                args.seconds,
                args.rounds,
                args.warmup,
                profile_requests=args.profile,
                box=box,
            )
        if not args.no_outbox:  # the receiver's own count, now that it has stopped
            print(f"  webhook receiver: {outbox.receiver_summary(Path(tmp))}", flush=True)
        engine.dispose()
    print("\n" + table(figures) + "\n")
    for line in machine:
        print(line)
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
