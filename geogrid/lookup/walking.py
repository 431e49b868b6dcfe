"""One walking model: tiers are walking distances, and walking minutes are read off them.

GB 50180-2018 gives its life-circle tiers as walking distances (5 min 300 m, 10 min 500 m,
15 min 800-1000 m; the chosen distances are settings). Those imply no single walking speed
(300/5, 500/10 and 1000/15 m/min), so minutes are read off the tiers: piecewise-linear through
(0 m, 0 min) and every (tier distance, tier minutes), and beyond the last tier at that tier's
average speed. A point is *within tier t* exactly when its walking distance is at most tier
t's distance, and the minutes shown for it are at most t exactly then, also at floating-point
boundaries (:meth:`WalkingModel.minutes` is corrected where rounding would blur that), so a
number never contradicts a tier.

Walking distance today is the straight line x the station kind's detour factor
(:data:`STRAIGHT_LINE`); the model takes any walking distance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from geogrid.settings import ServiceAreaSettings

#: The method name of walking distance measured as straight line x detour factor.
STRAIGHT_LINE = "straight_line_x_detour_factor"
#: Decimals of the minutes an answer shows (rounded up, so "5.0" is never a 300.2 m walk).
SHOWN_DECIMALS = 1


@dataclass(frozen=True)
class WalkingModel:
    """Tiers (minutes -> walking metres, increasing) and the minutes read off them.

    Examples
    --------
    >>> model = WalkingModel.from_settings(ServiceAreaSettings())
    >>> [float(m) for m in model.minutes([0, 150, 300, 400, 1000, 1200])]
    [0.0, 2.5, 5.0, 7.5, 15.0, 18.0]
    >>> model.within(300.0), model.within(300.1)
    ([5, 10, 15], [10, 15])
    """

    #: (minutes, metres) per tier, shortest first.
    tiers: tuple[tuple[int, float], ...]

    @classmethod
    def from_settings(cls, settings: ServiceAreaSettings) -> WalkingModel:
        return cls(tuple(sorted((int(m), float(d)) for m, d in settings.tier_distances_m.items())))

    def distance_m(self, minutes: int) -> float:
        """The walking distance of tier ``minutes``."""
        return dict(self.tiers)[minutes]

    def minutes(self, distance_m: ArrayLike) -> NDArray[np.float64]:
        """Walking minutes of walking distances (metres, >= 0), read off the tiers.

        For every tier t: ``minutes(d) <= t`` exactly when ``d <= distance_m(t)``, and
        ``minutes(distance_m(t)) == t``.
        """
        d = np.asarray(distance_m, dtype=np.float64)
        if np.isnan(d).any() or (d < 0).any():
            raise ValueError("walking distances must be non-negative numbers")
        xs = np.array([0.0, *(m for _, m in self.tiers)])
        ts = np.array([0.0, *(float(t) for t, _ in self.tiers)])
        last_t, last_d = ts[-1], xs[-1]
        # Beyond the last tier at its average speed: d * t / d_t equals t exactly at d_t.
        found = np.where(d <= last_d, np.interp(d, xs, ts), d * last_t / last_d)
        return self._agree(d, found, np.nextafter)

    def shown_minutes(self, distance_m: float) -> float:
        """The minutes an answer shows: rounded *up* to ``SHOWN_DECIMALS``, so a shown value
        is at most t exactly when the walk is within tier t.

        One distance at a time in plain Python (the nearest-station answer's hot path: numpy's
        per-call overhead is ten times the arithmetic); the same line as :meth:`minutes`.
        """
        if not distance_m >= 0:
            raise ValueError("walking distances must be non-negative numbers")
        before_m, before_t = 0.0, 0.0
        for t, metres in self.tiers:
            if distance_m <= metres:
                # At distance_m == metres the fraction is exactly 1, so this is exactly t.
                found = before_t + (t - before_t) * ((distance_m - before_m) / (metres - before_m))
                break
            before_m, before_t = metres, float(t)
        else:
            found = distance_m * before_t / before_m
        scale = 10.0**SHOWN_DECIMALS
        up = math.ceil(found * scale) / scale
        for t, metres in self.tiers:
            if distance_m > metres and up <= t:
                up = t + 1 / scale
            elif distance_m <= metres and up > t:
                up = float(t)
        return up

    def within(self, distance_m: float) -> list[int]:
        """The tiers (minutes) whose walking distance reaches ``distance_m``, shortest first."""
        return [t for t, metres in self.tiers if distance_m <= metres]

    def describe(self) -> dict[str, Any]:
        """The model as an answer names it."""
        return {
            "tiers_m": {str(t): m for t, m in self.tiers},
            "walk_minutes": "read off tiers_m",
            "within_minutes": "walk_minutes <= t",
        }

    def _agree(
        self, d: NDArray[np.float64], found: NDArray[np.float64], above: Any
    ) -> NDArray[np.float64]:
        # Rounding may put a walk just past tier t at exactly t minutes (or, for shown
        # minutes, a hair under); the tier's distance decides, and the minutes follow it.
        for t, metres in self.tiers:
            tier = float(t)
            found = np.where((d > metres) & (found <= tier), above(tier, math.inf), found)
            found = np.where((d <= metres) & (found > tier), tier, found)
        return found


def tier_of_kind(kind: str, settings: ServiceAreaSettings) -> int:
    """The tier stations of ``kind`` serve (settings ``tier_by_kind``; the last tier when the
    table leaves a kind out)."""
    return settings.tier_by_kind.get(kind, max(settings.tier_distances_m))
