"""Figures, the machine they were measured on, and the table that prints them."""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata

from sqlalchemy import Engine, text


@dataclass(frozen=True)
class Figure:
    """One measured figure, optionally against a peer and a target.

    ``ratio`` is value / peer value. ``goal`` is ``(">=", 0.95)``-style: the ratio (or the value
    itself when there is no peer) must satisfy it. Figures without a goal are context.
    """

    name: str
    value: float
    unit: str
    peer: str = ""
    peer_value: float | None = None
    goal: tuple[str, float] | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.peer_value is None or self.peer_value == 0:
            return None
        return self.value / self.peer_value

    @property
    def target(self) -> str:
        if self.goal is None:
            return ""
        sign, bound = self.goal
        what = "× peer" if self.peer_value is not None else self.unit
        return f"{sign} {_number(bound)} {what}"

    @property
    def passed(self) -> bool | None:
        if self.goal is None:
            return None
        measured = self.ratio if self.peer_value is not None else self.value
        if measured is None:
            return False
        sign, bound = self.goal
        return {">=": measured >= bound, "<=": measured <= bound, "<": measured < bound}[sign]

    @property
    def verdict(self) -> str:
        passed = self.passed
        return "" if passed is None else "PASS" if passed else "FALL SHORT"


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def _number(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def table(figures: Sequence[Figure]) -> str:
    """A Markdown table (readable as plain text too)."""
    header = ("figure", "value", "peer", "ratio", "target", "verdict")
    rows = []
    for f in figures:
        peer = "" if f.peer_value is None else f"{f.peer}: {_number(f.peer_value)} {f.unit}"
        if f.peer_value is None and f.peer:
            peer = f.peer
        ratio = "" if f.ratio is None else f"{f.ratio:.2f}×"
        name = f.name + (f" ({f.note})" if f.note else "")
        rows.append((name, f"{_number(f.value)} {f.unit}", peer, ratio, f.target, f.verdict))
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    lines = [
        "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows
    ]
    return "\n".join(lines)


def machine(engine: Engine) -> list[str]:
    """What the figures were measured on, one line per fact."""
    model = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as meminfo:
        kib = int(next(x for x in meminfo if x.startswith("MemTotal")).split()[1])
    with engine.connect() as conn:
        postgres = conn.execute(text("SHOW server_version")).scalar_one()
        postgis = conn.execute(text("SELECT postgis_lib_version()")).scalar_one()
        geos = conn.execute(text("SELECT postgis_geos_version()")).scalar_one()
    libraries = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in (
            "fastapi",
            "starlette",
            "uvicorn",
            "uvloop",
            "httptools",
            "numpy",
            "shapely",
            "geopandas",
            "orjson",
        )
    )
    return [
        f"date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"cpu: {model}, {os.cpu_count()} cores; RAM {kib / 2**20:.1f} GiB; "
        f"{platform.system()} {platform.release()}",
        f"Python {platform.python_version()}; PostgreSQL {postgres.split()[0]}, "
        f"PostGIS {postgis} (GEOS {geos.split('-')[0]})",
        libraries,
    ]
