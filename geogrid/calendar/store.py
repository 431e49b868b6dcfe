"""The working calendar as data: the shipped file, files a district loads, and the
``work_calendar`` tables that hold what is in force.

A calendar file is CSV, UTF-8, one row per day a notice changes::

    date,kind,name[,year]
    2025-10-01,holiday,国庆节
    2025-10-11,workday,国庆节

``kind`` is ``holiday`` (a day off) or ``workday`` (a Saturday or Sunday worked, 调休上班);
``year`` is the year of the notice (default: the date's), so the days of a New Year holiday
that fall in December can belong to the next year's notice. Lines starting with ``#`` are
comments. Loading a file replaces the years it names, all or nothing.
"""

from __future__ import annotations

import csv
import io
import threading
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from geogrid.calendar.hours import KINDS, CalendarDay, OfficeHours, WorkCalendar
from geogrid.errors import LoadError
from geogrid.i18n import Message, tr

_REQUIRED = ("date", "kind", "name")
#: the oldest and newest years a calendar file may name
YEARS = (1990, 2200)


class CalendarFileError(LoadError):
    """A calendar file with bad lines; ``details`` lists each in English and ``problems`` as
    messages, so a page can name them in Chinese too."""

    def __init__(self, message: Message, problems: list[Message]) -> None:
        super().__init__(message, details=[str(p) for p in problems])
        self.problems = problems


@dataclass(frozen=True)
class CalendarFile:
    """The days of some years' notices and, per year, where they come from."""

    days: tuple[CalendarDay, ...]
    years: frozenset[int]
    sources: dict[int, str]


def _rows(content: str) -> csv.DictReader[str]:
    lines = [line for line in content.splitlines() if not line.lstrip().startswith("#")]
    return csv.DictReader(io.StringIO("\n".join(lines)))


def parse_calendar(content: str, name: str, source: str | None = None) -> CalendarFile:
    """Read and check calendar CSV text; ``name`` names it in errors.

    Raises
    ------
    LoadError
        Missing columns, a bad date, kind or year, a weekday given as a make-up working day,
        a date twice; ``details`` lists every problem with its line.
    """
    reader = _rows(content)
    missing = [c for c in _REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        raise LoadError(
            tr(
                "{name} lacks the columns {missing}; a calendar file has the columns "
                "date, kind, name and optionally year",
                name=name,
                missing=missing,
            )
        )
    days: list[CalendarDay] = []
    problems: list[Message] = []
    for line, row in enumerate(reader, start=2):
        raw = (row.get("date") or "").strip()
        kind = (row.get("kind") or "").strip()
        label = (row.get("name") or "").strip()
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            problems.append(tr('line {line}: date "{raw}" must be YYYY-MM-DD', line=line, raw=raw))
            continue
        try:
            year = int((row.get("year") or "").strip() or day.year)
        except ValueError:
            problems.append(
                tr('line {line}: year "{year}" must be a year', line=line, year=row.get("year"))
            )
            continue
        if kind not in KINDS:
            problems.append(
                tr(
                    'line {line}: kind "{kind}" must be one of {kinds}',
                    line=line,
                    kind=kind,
                    kinds=list(KINDS),
                )
            )
        elif kind == "workday" and day.weekday() < 5:
            problems.append(
                tr(
                    "line {line}: {day} is a {weekday}; a make-up working day "
                    "(workday) is a Saturday or Sunday the notice makes a working day",
                    line=line,
                    day=day,
                    weekday=day.strftime("%A"),
                )
            )
        elif not label or len(label) > 50:
            problems.append(tr("line {line}: name must have 1 to 50 characters", line=line))
        elif abs(year - day.year) > 1 or not YEARS[0] <= year <= YEARS[1]:
            problems.append(
                tr(
                    "line {line}: year {year} is not the notice year of {day}",
                    line=line,
                    year=year,
                    day=day,
                )
            )
        else:
            days.append(CalendarDay(day, kind, label, year))
    seen: dict[date, int] = {}
    for d in days:
        seen[d.day] = seen.get(d.day, 0) + 1
    problems += [
        tr("{day} appears more than once", day=d) for d, n in sorted(seen.items()) if n > 1
    ]
    if not problems and not days:
        problems.append(tr("the file has no rows"))
    if problems:
        raise CalendarFileError(
            tr(
                "{name} is not a valid calendar file ({count} problems): {listed}",
                name=name,
                count=len(problems),
                listed="; ".join(str(p) for p in problems[:5]),
            ),
            problems,
        )
    years = frozenset(d.year for d in days)
    return CalendarFile(tuple(days), years, {y: source or name for y in years})


def read_calendar_file(path: Path, source: str | None = None) -> CalendarFile:
    """Read a calendar CSV file (see the module); ``source`` says where its days come from
    (default: the file's name)."""
    try:
        content = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise LoadError(f"cannot read {path}: {exc.strerror}") from None
    return parse_calendar(content, str(path), source or f"file {path.name}")


def shipped_calendar() -> CalendarFile:
    """The calendar geogrid ships: every notice from 2004 on, with each year's source."""
    folder = resources.files("geogrid.calendar").joinpath("data")
    found = parse_calendar(
        folder.joinpath("cn_work_calendar.csv").read_text(encoding="utf-8"), "cn_work_calendar.csv"
    )
    sources: dict[int, str] = {}
    for row in _rows(folder.joinpath("cn_notices.csv").read_text(encoding="utf-8")):
        said = row["title"] + (f"（{row['number']}，{row['issued']}）" if row["number"] else "")
        said += f" {row['url']}" if row["url"] else ""
        said += f"；{row['changes']}" if row["changes"] else ""
        sources[int(row["year"])] = said
    return CalendarFile(found.days, found.years, {y: sources[y] for y in found.years})


def replace_years(conn: Connection, calendar: CalendarFile) -> tuple[int, int]:
    """Make ``calendar``'s days those of the years it names (in the caller's transaction).

    Returns (years, days) written. A day another year's notice held moves to this one.
    """
    years = sorted(calendar.years)
    conn.execute(text("DELETE FROM work_calendar WHERE year = ANY(:years)"), {"years": years})
    conn.execute(
        text(
            "INSERT INTO work_calendar_year (year, source, loaded_at) VALUES (:year, :source, "
            "now()) ON CONFLICT (year) DO UPDATE SET source = EXCLUDED.source, loaded_at = now()"
        ),
        [{"year": y, "source": calendar.sources[y]} for y in years],
    )
    conn.execute(
        text(
            "INSERT INTO work_calendar (day, kind, name, year) VALUES (:day, :kind, :name, :year) "
            "ON CONFLICT (day) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name, "
            "year = EXCLUDED.year"
        ),
        [{"day": d.day, "kind": d.kind, "name": d.name, "year": d.year} for d in calendar.days],
    )
    return len(years), len(calendar.days)


@dataclass(frozen=True)
class CalendarYear:
    year: int
    source: str
    loaded_at: datetime
    holidays: int
    workdays: int


def calendar_years(conn: Connection) -> list[CalendarYear]:
    """The years the database's calendar knows, with their source and day counts."""
    rows = conn.execute(
        text(
            "SELECT y.year, y.source, y.loaded_at, "
            "count(d.day) FILTER (WHERE d.kind = 'holiday') AS holidays, "
            "count(d.day) FILTER (WHERE d.kind = 'workday') AS workdays "
            "FROM work_calendar_year y LEFT JOIN work_calendar d ON d.year = y.year "
            "GROUP BY y.year ORDER BY y.year"
        )
    )
    return [CalendarYear(*row) for row in rows]


def year_days(conn: Connection, year: int) -> list[CalendarDay]:
    """The holidays and make-up working days of ``year``'s notice, by date."""
    rows = conn.execute(
        text("SELECT day, kind, name, year FROM work_calendar WHERE year = :y ORDER BY day"),
        {"y": year},
    )
    return [CalendarDay(*row) for row in rows]


_cache: dict[tuple[Any, ...], WorkCalendar] = {}
_cache_lock = threading.Lock()

#: Which calendar load is in force (the database, how many years, the last load, which years):
#: one small row that changes whenever a load or removal changes the calendar. Also read by
#: :mod:`geogrid.cases.intake` in the statement that gathers what a new case needs.
STAMP_SQL = (
    "SELECT concat_ws(' ', current_database(), count(*), max(loaded_at), sum(year)) "
    "FROM work_calendar_year"
)
_STAMP = text(STAMP_SQL)
_DAYS = text("SELECT day, kind, name, year FROM work_calendar")
_YEARS = text("SELECT year FROM work_calendar_year")


def load_calendar(conn: Connection, office_hours: OfficeHours | str) -> WorkCalendar:
    """The database's calendar with ``office_hours``, ready to count.

    Built once per database, calendar load and office hours (one small query checks which
    load is in force), so counting costs no table read.
    """
    return stamped_calendar(conn, conn.execute(_STAMP).scalar_one(), office_hours)


def stamped_calendar(conn: Connection, stamp: str, office_hours: OfficeHours | str) -> WorkCalendar:
    """:func:`load_calendar` for a ``stamp`` already read (:data:`STAMP_SQL`): from the cache,
    or read and built once."""
    hours = OfficeHours.parse(office_hours) if isinstance(office_hours, str) else office_hours
    key = (stamp, hours)
    with _cache_lock:
        found = _cache.get(key)
    if found is not None:
        return found
    days = conn.execute(_DAYS).all()
    years = conn.execute(_YEARS).scalars().all()
    calendar = WorkCalendar(tuple(CalendarDay(*d) for d in days), frozenset(years), hours)
    with _cache_lock:
        if len(_cache) > 16:
            _cache.clear()
        _cache[key] = calendar
    return calendar
