"""Hooks: what else happens, in the same transaction, when a boundary release is published.

Listeners are named here (module:function) and imported when first called, so the release
code needs no import of what listens to it. A listener that raises rolls the publish back.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from sqlalchemy import Connection

ReleaseListener = Callable[[Connection, int], None]

#: Called with (connection, new release id) after the release's geometries are stored.
RELEASE_PUBLISHED = (
    "geogrid.cases.rerouting:after_release",  # re-route open cases (case dispatch)
)


def _resolve(name: str) -> ReleaseListener:
    module, _, function = name.partition(":")
    listener: ReleaseListener = getattr(import_module(module), function)
    return listener


def release_published(conn: Connection, release_id: int) -> None:
    """Run every release-published listener inside the publishing transaction."""
    for name in RELEASE_PUBLISHED:
        _resolve(name)(conn, release_id)
