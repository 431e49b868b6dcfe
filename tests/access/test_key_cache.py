"""The key cache: fresh for a few seconds, then trusted only while the database is away."""

from __future__ import annotations

import time

from geogrid.access.keys import KeyCache
from geogrid.access.roles import Principal, Role

DESK = Principal("desk", Role.dispatcher)


def test_a_key_is_fresh_then_stale_then_forgotten() -> None:
    cache = KeyCache(ttl_s=0.05, outage_s=0.1)
    cache.put("k", DESK)
    first = cache.get("k")
    assert first is not None and first.fresh and first.principal == DESK
    time.sleep(0.07)
    stale = cache.get("k")
    assert stale is not None and not stale.fresh  # look it up again; trust it only in an outage
    time.sleep(0.1)
    assert cache.get("k") is None


def test_a_revocation_forgets_every_key_at_once() -> None:
    cache = KeyCache(ttl_s=60, outage_s=3600)
    cache.put("k", DESK)
    cache.clear()
    assert cache.get("k") is None


def test_nothing_is_remembered_when_both_horizons_are_zero() -> None:
    cache = KeyCache(ttl_s=0, outage_s=0)
    cache.put("k", DESK)
    assert cache.get("k") is None
