"""Tiles kept in memory per release: a bounded LRU of encoded tiles, by bytes.

A tile is named by (release, tile matrix set, layers, zoom, row, column). A published release
never changes its grids, so a tile of it never goes stale: the cache is simply bounded
(``GEOGRID_TILE_CACHE_MB``), least recently used out first, and a new release is new keys,
whose tiles are drawn on first request. Each entry keeps the tile as it is and, once a
client that accepts gzip has asked for it, gzipped (a tile of grids shrinks to about half), so
neither is worked out again per request.

cachetools' ``LRUCache`` sizes entries by ``getsizeof``; it is not thread-safe, and tiles are
drawn in worker threads, so every use goes through one lock (held for a dictionary step, not
while a tile is drawn: two requests for the same cold tile may both draw it, which is cheaper
than making one wait on the other's database round trip).
"""

from __future__ import annotations

import gzip
import hashlib
import threading

from cachetools import LRUCache

#: What a tile is known by in the cache.
TileKey = tuple[int, str, tuple[str, ...], int, int, int]
#: What an entry costs beyond its bytes (the key, the object, the ETag), roughly.
_OVERHEAD = 300


class CachedTile:
    """One tile: its bytes, a validator of its content, and the same gzipped once a client
    that accepts gzip asks for it (about 2 ms for a tile of the whole district, spent once)."""

    __slots__ = ("_gzipped", "data", "etag")

    def __init__(self, data: bytes, etag: str) -> None:
        self.data = data
        self.etag = etag
        self._gzipped: bytes | None = None

    @classmethod
    def of(cls, release: int, data: bytes) -> CachedTile:
        """The entry of ``data`` drawn from ``release``; its ETag names both."""
        digest = hashlib.blake2b(data, digest_size=12).hexdigest()
        return cls(data, f'W/"t{release}-{digest}"')

    @property
    def gzipped(self) -> bytes:
        """The tile gzipped (level 6, as the JSON answers); two threads may both compress it
        the first time, and either result is the same bytes."""
        packed = self._gzipped
        if packed is None:
            packed = gzip.compress(self.data, compresslevel=6, mtime=0) if self.data else b""
            self._gzipped = packed
        return packed

    @property
    def size(self) -> int:
        """What the entry is reckoned to cost: the tile, and its gzipped copy at half of it
        (a tile of grids gzips to about that), known before the copy is made."""
        return len(self.data) + len(self.data) // 2 + _OVERHEAD


class TileCache:
    """A byte-bounded, thread-safe LRU of tiles, and the releases known to exist.

    ``max_bytes`` 0 keeps nothing (every tile is drawn: the benchmark's cold figures).
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._tiles: LRUCache[TileKey, CachedTile] = LRUCache(
            maxsize=max(max_bytes, 1), getsizeof=lambda entry: entry.size
        )
        self._lock = threading.Lock()
        #: published releases seen: asking for one again needs no database round trip
        self._releases: set[int] = set()
        self.hits = 0
        self.misses = 0

    def get(self, key: TileKey) -> CachedTile | None:
        """The cached tile of ``key``, or None (counted as a hit or a miss)."""
        with self._lock:
            found = self._tiles.get(key)
            if found is None:
                self.misses += 1
            else:
                self.hits += 1
            return found

    def put(self, key: TileKey, entry: CachedTile) -> None:
        """Keep ``entry``, dropping the least recently used tiles beyond the budget."""
        if self.max_bytes <= 0 or entry.size > self.max_bytes:
            return
        with self._lock:
            self._tiles[key] = entry

    def knows_release(self, release: int) -> bool:
        with self._lock:
            return release in self._releases

    def add_release(self, release: int) -> None:
        with self._lock:
            self._releases.add(release)

    @property
    def bytes_used(self) -> int:
        with self._lock:
            return int(self._tiles.currsize)

    def __len__(self) -> int:
        with self._lock:
            return len(self._tiles)
