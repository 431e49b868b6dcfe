"""Working-hour arithmetic over a Chinese working calendar and the office's hours.

A **working day** is a weekday the State Council's notice does not make a day off, or a weekend
day it makes a working day (调休上班). Working time runs only inside the office hours of working
days (default 08:30-12:00 and 13:30-17:30, Asia/Shanghai), so a clock started outside them
starts at the next opening.

The calendar is turned once into the cumulative working seconds at the end of every day of
the years it knows; a time's *position* is then the working seconds before it, and adding
working hours is a binary search for the day that reaches ``position + hours`` — the same for
one case or (vectorised with numpy) for a hundred thousand. A span that reaches a day of a
year the calendar does not know gives ``calendar_missing``: the due time is never guessed.

Asia/Shanghai has kept UTC+08:00 without daylight saving since 1991, so local days are whole
UTC+8 days.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from geogrid.errors import InvalidInputError

SHANGHAI = ZoneInfo("Asia/Shanghai")
_OFFSET_S = 8 * 3600
_DAY_S = 86400
_UNIX_ORDINAL = date(1970, 1, 1).toordinal()
_SPAN = re.compile(r"^\s*([0-2]?\d):([0-5]\d)\s*-\s*([0-2]?\d):([0-5]\d)\s*$")
#: the office hours the district keeps unless GEOGRID_OFFICE_HOURS says otherwise
DEFAULT_OFFICE_HOURS = "08:30-12:00,13:30-17:30"
KINDS = ("holiday", "workday")


@dataclass(frozen=True)
class OfficeHours:
    """The spans of a working day, as seconds after local midnight, in order."""

    spans: tuple[tuple[int, int], ...]

    @classmethod
    def parse(cls, text: str) -> OfficeHours:
        """``"08:30-12:00,13:30-17:30"`` → OfficeHours; a bad text is refused naming it.

        Examples
        --------
        >>> OfficeHours.parse("08:30-12:00,13:30-17:30").seconds_per_day / 3600
        7.5
        """
        spans: list[tuple[int, int]] = []
        for part in text.split(","):
            found = _SPAN.match(part)
            if found is None:
                raise InvalidInputError(
                    f'office hours were "{text}" but must be spans such as '
                    f'"{DEFAULT_OFFICE_HOURS}" (HH:MM-HH:MM, comma-separated)'
                )
            h1, m1, h2, m2 = (int(g) for g in found.groups())
            start, end = (h1 * 60 + m1) * 60, (h2 * 60 + m2) * 60
            if not 0 <= start < end <= _DAY_S or (spans and start < spans[-1][1]):
                raise InvalidInputError(
                    f'office hours were "{text}": "{part.strip()}" must end after it starts, '
                    "within one day, after the span before it"
                )
            spans.append((start, end))
        return cls(tuple(spans))

    @property
    def seconds_per_day(self) -> int:
        return sum(end - start for start, end in self.spans)

    def __str__(self) -> str:
        return ",".join(f"{_hhmm(a)}-{_hhmm(b)}" for a, b in self.spans)


def _hhmm(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


@dataclass(frozen=True)
class CalendarDay:
    """One day a notice changes: a day off (``holiday``) or a weekend day worked (``workday``)."""

    day: date
    kind: str
    name: str
    #: the year of the notice the day comes from (December days of a New Year holiday belong
    #: to the next year's notice)
    year: int


@dataclass(frozen=True)
class Due:
    """When a clock runs out; ``at`` is None exactly when ``calendar_missing``."""

    at: datetime | None
    calendar_missing: bool = False


@dataclass(frozen=True, eq=False)
class WorkCalendar:
    """The working days of the years a calendar knows, with the office hours, ready to count.

    Parameters
    ----------
    days
        The holidays and make-up working days of the notices.
    years
        The years the calendar knows: a day of any other year has no answer.
    office_hours
        The spans of a working day.
    """

    days: tuple[CalendarDay, ...]
    years: frozenset[int]
    office_hours: OfficeHours
    _first: int = field(init=False, repr=False)  # unix day number of the first day
    _working: Any = field(init=False, repr=False)
    _cum_end: Any = field(init=False, repr=False)
    _gaps: Any = field(init=False, repr=False)  # unknown days before each day (prefix count)

    def __post_init__(self) -> None:
        years = sorted(self.years) or [1970]
        first = date(years[0], 1, 1).toordinal()
        last = date(years[-1], 12, 31).toordinal()
        ordinals = np.arange(first, last + 1)
        working = ((ordinals - 1) % 7) < 5  # ordinal 1 (0001-01-01) was a Monday
        year_of = _years_of(first, last)
        known = np.isin(year_of, list(self.years))
        for day in self.days:
            i = day.day.toordinal() - first
            if 0 <= i < len(working):
                working[i] = day.kind == "workday"
        working &= known
        per_day = self.office_hours.seconds_per_day
        object.__setattr__(self, "_first", first - _UNIX_ORDINAL)
        object.__setattr__(self, "_working", working)
        object.__setattr__(self, "_cum_end", np.cumsum(working * float(per_day)))
        object.__setattr__(self, "_gaps", np.concatenate(([0], np.cumsum(~known))))

    def is_workday(self, day: date) -> bool | None:
        """Whether ``day`` is a working day; None for a day of a year the calendar lacks."""
        if day.year not in self.years:
            return None
        return bool(self._working[day.toordinal() - _UNIX_ORDINAL - self._first])

    def holidays(self) -> Mapping[date, CalendarDay]:
        return {d.day: d for d in self.days}

    # -- vectorised core ---------------------------------------------------------------------

    def _position(self, seconds: Any) -> tuple[Any, Any, Any]:
        """(working seconds before each epoch time, its day index, whether the day is known)."""
        local = np.asarray(seconds, dtype=np.float64) + _OFFSET_S
        day = np.floor(local / _DAY_S).astype(np.int64) - self._first
        inside = (day >= 0) & (day < len(self._working))
        safe = np.clip(day, 0, len(self._working) - 1)
        within = local - (day + self._first) * float(_DAY_S)
        worked = np.zeros_like(within)
        for start, end in self.office_hours.spans:
            worked += np.clip(within - start, 0, end - start)
        start_of_day = self._cum_end[safe] - self._working[safe] * float(
            self.office_hours.seconds_per_day
        )
        return start_of_day + self._working[safe] * worked, safe, inside

    def add_seconds(self, starts: Any, seconds: Any) -> tuple[Any, Any]:
        """Epoch seconds ``starts`` + working ``seconds`` → (epoch due times, missing mask).

        Due times are NaN where the span reaches a day of a year the calendar lacks.
        """
        position, start_day, inside = self._position(starts)
        target = position + np.asarray(seconds, dtype=np.float64)
        day = np.searchsorted(self._cum_end, target, side="left")
        missing = ~inside | (day >= len(self._cum_end))
        day = np.minimum(day, len(self._cum_end) - 1)
        missing |= (self._gaps[day + 1] - self._gaps[start_day]) > 0
        per_day = float(self.office_hours.seconds_per_day)
        into = target - (self._cum_end[day] - per_day)  # working seconds into that day
        ends = np.cumsum([end - start for start, end in self.office_hours.spans])
        span = np.minimum(np.searchsorted(ends, into, side="left"), len(ends) - 1)
        opens = np.array([start for start, _ in self.office_hours.spans], dtype=np.float64)
        lengths = np.array([end - start for start, end in self.office_hours.spans], float)
        clock = opens[span] + into - (ends[span] - lengths[span])
        due = (day + self._first) * float(_DAY_S) + clock - _OFFSET_S
        due = np.maximum(due, np.asarray(starts, dtype=np.float64))  # 0 hours: due at once
        return np.where(missing, np.nan, due), missing

    def add_seconds_one(self, start: float, seconds: float) -> float | None:
        """:meth:`add_seconds` for one start (None: missing), in plain floats.

        The same steps in the same order (so the same answer, to the bit: a test compares
        them): a due time for one new case costs a few microseconds instead of the ~0.1 ms that
        twenty numpy calls on one-element arrays cost, on the path that creates every case.
        """
        n = len(self._working)
        local = start + _OFFSET_S
        day = math.floor(local / _DAY_S) - self._first
        inside = 0 <= day < n
        safe = min(max(day, 0), n - 1)
        within = local - (day + self._first) * float(_DAY_S)
        worked = 0.0
        for open_s, close_s in self.office_hours.spans:
            worked += min(max(within - open_s, 0), close_s - open_s)
        working = float(self._working[safe])
        per_day = float(self.office_hours.seconds_per_day)
        position = float(self._cum_end[safe]) - working * per_day + working * worked
        target = position + seconds
        end_day = int(np.searchsorted(self._cum_end, target, side="left"))
        if not inside or end_day >= len(self._cum_end):
            return None
        if self._gaps[end_day + 1] - self._gaps[safe] > 0:
            return None
        into = target - (float(self._cum_end[end_day]) - per_day)
        spans = self.office_hours.spans
        ends = list(itertools.accumulate(close_s - open_s for open_s, close_s in spans))
        span = min(bisect.bisect_left(ends, into), len(ends) - 1)
        open_s, close_s = spans[span]
        clock = open_s + into - (ends[span] - (close_s - open_s))
        due = (end_day + self._first) * float(_DAY_S) + clock - _OFFSET_S
        return max(due, start)  # 0 hours: due at once

    def seconds_between(self, starts: Any, ends: Any) -> tuple[Any, Any]:
        """Working seconds from each start to each end (negative if it ends first), and the
        missing mask (a day of the span in a year the calendar lacks)."""
        a, a_day, a_in = self._position(starts)
        b, b_day, b_in = self._position(ends)
        low, high = np.minimum(a_day, b_day), np.maximum(a_day, b_day)
        missing = ~a_in | ~b_in | ((self._gaps[high + 1] - self._gaps[low]) > 0)
        return np.where(missing, np.nan, b - a), missing


def _years_of(first: int, last: int) -> Any:
    """The year of every day from ordinal ``first`` to ``last``."""
    years = np.empty(last - first + 1, dtype=np.int64)
    year = date.fromordinal(first).year
    start = first
    while start <= last:
        end = min(date(year, 12, 31).toordinal(), last)
        years[start - first : end - first + 1] = year
        start, year = end + 1, year + 1
    return years


def _epoch(moment: datetime) -> float:
    if moment.tzinfo is None:
        raise InvalidInputError(f"{moment.isoformat()} has no offset; give one such as +08:00")
    return moment.timestamp()


def _local(epoch: float) -> datetime:
    return datetime.fromtimestamp(round(epoch, 6), tz=UTC).astimezone(SHANGHAI)


def add_working_hours(start: datetime, hours: float, calendar: WorkCalendar) -> Due:
    """When ``hours`` working hours from ``start`` run out.

    Parameters
    ----------
    start
        An aware datetime; outside office hours the clock starts at the next opening.
    hours
        Working hours, more than 0.
    calendar
        The working calendar and office hours.

    Returns
    -------
    Due
        The earliest moment the hours are used up (in Asia/Shanghai), or ``calendar_missing``
        when the span reaches a year the calendar lacks.

    Examples
    --------
    >>> cal = WorkCalendar((), frozenset({2026}), OfficeHours.parse(DEFAULT_OFFICE_HOURS))
    >>> add_working_hours(datetime(2026, 3, 6, 17, 0, tzinfo=SHANGHAI), 1, cal).at.isoformat()
    '2026-03-09T09:00:00+08:00'
    """
    due = calendar.add_seconds_one(_epoch(start), hours * 3600.0)
    return Due(None, True) if due is None else Due(_local(due))


def add_calendar_hours(start: datetime, hours: float) -> Due:
    """``hours`` round the clock from ``start``: no calendar needed, never missing."""
    _epoch(start)
    return Due((start + timedelta(hours=hours)).astimezone(SHANGHAI))


def working_hours_between(a: datetime, b: datetime, calendar: WorkCalendar) -> float | None:
    """Working hours from ``a`` to ``b`` (negative when ``b`` comes first); None when a day
    between them is in a year the calendar lacks."""
    seconds, missing = calendar.seconds_between([_epoch(a)], [_epoch(b)])
    return None if missing[0] else float(seconds[0]) / 3600.0


def build_calendar(
    days: Iterable[CalendarDay], years: Iterable[int], office_hours: OfficeHours | str
) -> WorkCalendar:
    """A :class:`WorkCalendar` from days, the years they cover and office hours (or their text)."""
    hours = OfficeHours.parse(office_hours) if isinstance(office_hours, str) else office_hours
    return WorkCalendar(tuple(days), frozenset(years), hours)
