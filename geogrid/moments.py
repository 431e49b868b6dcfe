"""Moments clients send (``at=``, date filters): ISO 8601, Asia/Shanghai when no offset.

Every moment lies between :data:`EARLIEST` and :data:`LATEST` (1900-01-01 to 2100-12-31, as
dates in Asia/Shanghai once the offset is applied): far enough for any grid or case, and
every date arithmetic on them (the end of a day, a 90-day span) stays within what Python
and PostgreSQL represent.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from geogrid.errors import InvalidInputError
from geogrid.i18n import tr

LOCAL = ZoneInfo("Asia/Shanghai")
#: The first and last dates (Asia/Shanghai) a moment may fall on.
EARLIEST = date(1900, 1, 1)
LATEST = date(2100, 12, 31)

_Moment = TypeVar("_Moment", date, datetime)


def read_iso(text: str) -> datetime:
    """An aware datetime from ISO 8601 text (no offset: Asia/Shanghai); ValueError if not."""
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=LOCAL)


def parse_moment(value: str, name: str = "at") -> datetime:
    """An aware datetime from ISO 8601 text; no offset means Asia/Shanghai.

    Raises InvalidInputError for text that is not ISO 8601, or (naming ``name``) a moment
    outside :data:`EARLIEST`..:data:`LATEST`.

    Examples
    --------
    >>> parse_moment("2026-01-02T08:00").isoformat()
    '2026-01-02T08:00:00+08:00'
    >>> parse_moment("2026-01-02T00:00Z").isoformat()
    '2026-01-02T00:00:00+00:00'
    >>> parse_moment("9999-12-31T23:00-12:00")
    Traceback (most recent call last):
    geogrid.errors.InvalidInputError: at was "9999-12-31T23:00-12:00" but must fall between \
1900-01-01 and 2100-12-31 (Asia/Shanghai)
    """
    try:
        moment = read_iso(value)
    except ValueError:
        raise InvalidInputError(
            tr(
                'at was "{value}" but must be an ISO 8601 date or time, e.g. '
                "2026-05-01 or 2026-05-01T09:30 (Asia/Shanghai) or 2026-05-01T01:30Z",
                value=value,
            ),
        ) from None
    return in_range(name, moment, value)


def in_range(name: str, moment: _Moment, value: str) -> _Moment:
    """``moment`` (a date, or an aware datetime) when its date in Asia/Shanghai lies between
    :data:`EARLIEST` and :data:`LATEST`; InvalidInputError naming ``name`` and ``value`` if not.

    Examples
    --------
    >>> in_range("to", date(2026, 5, 31), "2026-05-31")
    datetime.date(2026, 5, 31)
    >>> in_range("to", date(9999, 12, 31), "9999-12-31")
    Traceback (most recent call last):
    geogrid.errors.InvalidInputError: to was "9999-12-31" but must fall between 1900-01-01 and \
2100-12-31 (Asia/Shanghai)
    """
    day: date | None = moment
    if isinstance(moment, datetime):
        try:
            day = moment.astimezone(LOCAL).date()
        except OverflowError:  # an offset that takes it past year 1 or 9999
            day = None
    if day is None or not EARLIEST <= day <= LATEST:
        raise InvalidInputError(
            tr(
                '{name} was "{value}" but must fall between {earliest} and {latest} '
                "(Asia/Shanghai)",
                name=name,
                value=value,
                earliest=EARLIEST.isoformat(),
                latest=LATEST.isoformat(),
            )
        )
    return moment
