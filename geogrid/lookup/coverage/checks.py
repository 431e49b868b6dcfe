"""The parameters of a coverage question, checked (422 naming the value and what is allowed)."""

from __future__ import annotations

from collections.abc import Iterable

from geogrid.errors import InvalidInputError
from geogrid.i18n import tr
from geogrid.limits import ascii_digits
from geogrid.lookup.coverage.report import CODE_DIGITS, DETOUR_FACTOR_RANGE, LEVEL_ZH, LEVELS, TIERS
from geogrid.lookup.service_areas import STATION_KINDS

# --- validation -------------------------------------------------------------------------------


def check_minutes(minutes: int) -> int:
    """``minutes`` if it is a tier, else InvalidInputError naming the tiers."""
    if minutes not in TIERS:
        raise InvalidInputError(
            tr("minutes was {minutes} but must be one of 5, 10, 15", minutes=minutes),
        )
    return minutes


def check_level(level: str) -> str:
    """``level`` if it is known, else InvalidInputError naming the levels."""
    if level not in LEVELS:
        raise InvalidInputError(
            tr(
                'level was "{level}" but must be one of {LEVELS_join}',
                level=level,
                LEVELS_join=", ".join(LEVELS),
            ),
        )
    return level


def check_kinds(
    kinds: Iterable[str] | None, default: tuple[str, ...] = STATION_KINDS
) -> tuple[str, ...]:
    """The station kinds asked for, validated, deduplicated and in canonical order
    (``default`` when none are asked for).

    Examples
    --------
    >>> check_kinds(["legal", "doorstep", "legal"])
    ('doorstep', 'legal')
    >>> check_kinds(None) == STATION_KINDS
    True
    """
    if kinds is None:
        return default
    asked = {k.strip() for k in kinds if k.strip()}
    unknown = sorted(asked - set(STATION_KINDS))
    if unknown:
        raise InvalidInputError(
            tr(
                'kind was "{unknown}" but each kind must be one of {kinds}',
                unknown=",".join(unknown),
                kinds=", ".join(STATION_KINDS),
            ),
        )
    return tuple(k for k in STATION_KINDS if k in asked) if asked else default


def check_unit_code(level: str, code: str) -> str:
    """``code`` if it has the digits of a ``level`` code, else InvalidInputError."""
    digits = CODE_DIGITS[level]
    if len(code) != digits or not ascii_digits(code):
        hint = next(
            (
                f"; a {len(code)}-digit code is a {name} code (level={name})"
                for name, n in CODE_DIGITS.items()
                if n == len(code) and ascii_digits(code) and name != level
            ),
            "",
        )
        raise InvalidInputError(
            tr(
                'code was "{code}" but a {level} code must be {digits} digits{hint}',
                code=code,
                level=level,
                digits=digits,
                hint=hint,
                level_zh=LEVEL_ZH[level],
            ),
        )
    return code


def check_detour_factor(detour_factor: float) -> float:
    """``detour_factor`` if it is within DETOUR_FACTOR_RANGE, else InvalidInputError."""
    low, high = DETOUR_FACTOR_RANGE
    if not low <= detour_factor <= high:
        raise InvalidInputError(
            tr(
                "detour_factor was {detour_factor} but must be within [{low}, {high}]",
                detour_factor=detour_factor,
                low=low,
                high=high,
            ),
        )
    return detour_factor
