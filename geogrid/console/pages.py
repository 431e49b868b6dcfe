"""The template environment: autoescaped Jinja2 with the filters the pages share."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
LOCAL = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Nav:
    """One entry of the console's menu."""

    href: str
    label: str
    key: str


def local_time(moment: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time as Yaohai's clocks show it (Asia/Shanghai); "" for none."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        return moment.strftime(fmt)
    return moment.astimezone(LOCAL).strftime(fmt)


def asset_version() -> str:
    """A short hash of the console's own CSS and JS (their URLs carry it, so a new version is
    fetched at once although browsers may keep the old one for a year)."""
    digest = hashlib.sha256()
    for path in sorted(STATIC_DIR.iterdir()):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local_time"] = local_time
    return env


def render(template: str, **context: Any) -> str:
    """``template`` (a file under ``console/templates``) rendered with ``context``."""
    return environment().get_template(template).render(**context)
