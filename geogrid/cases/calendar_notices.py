"""Loading a year's holiday notice into the working calendar, as an admin action.

Loading replaces the days of the years the notice names, gives the open cases whose due time
waited for that calendar (``calendar_missing``) their due time, and writes the audit log, in
the caller's transaction: all of it or none. The command line (``geogrid calendar load``) and
the console's calendar page both come here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection
from sqlalchemy import text as sql_text

from geogrid.access import audit
from geogrid.calendar import (
    CalendarDay,
    CalendarFile,
    OfficeHours,
    calendar_years,
    load_calendar,
    parse_calendar,
    replace_years,
)
from geogrid.cases.deadlines import recompute_missing
from geogrid.errors import InvalidInputError
from geogrid.i18n import tr
from geogrid.moments import LOCAL

#: A notice is a few dozen lines; a file much larger is not one.
MAX_NOTICE_BYTES = 256 * 1024


@dataclass(frozen=True)
class NoticeLoaded:
    """What loading did: the years replaced, days written, due times given."""

    years: tuple[int, ...]
    holidays: int
    workdays: int
    due_times: int
    #: of ``years``, those that were loaded before (now replaced)
    replaced: tuple[int, ...]


def read_notice(content: bytes, name: str, source: str) -> CalendarFile:
    """An uploaded calendar file (the format ``geogrid calendar load`` reads), checked.

    Raises
    ------
    InvalidInputError
        No source given, the file too large or not UTF-8 text (422).
    LoadError
        A bad row; ``details`` names each with its line.
    """
    said = source.strip()
    if not said:
        raise InvalidInputError(
            tr(
                "say where the days come from: the notice's title, number and address "
                "(e.g. 国务院办公厅关于2027年部分节假日安排的通知)"
            )
        )
    if len(content) > MAX_NOTICE_BYTES:
        raise InvalidInputError(
            tr(
                'file "{name}" has {size} bytes; a calendar file has at most {limit}',
                name=name,
                size=len(content),
                limit=MAX_NOTICE_BYTES,
            )
        )
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInputError(
            tr('file "{name}" is not UTF-8 text; save the CSV as UTF-8', name=name)
        ) from None
    return parse_calendar(text, name, said)


def load_notice(
    conn: Connection, notice: CalendarFile, actor: str, office_hours: OfficeHours | str
) -> NoticeLoaded:
    """Make ``notice``'s days those of its years, set the due times that waited for them and
    record who did it (``calendar_loaded`` in the audit log), in the caller's transaction."""
    known = {y.year for y in calendar_years(conn)}
    replace_years(conn, notice)
    due_times = recompute_missing(conn, load_calendar(conn, office_hours))
    years = tuple(sorted(notice.years))
    loaded = NoticeLoaded(
        years=years,
        holidays=sum(d.kind == "holiday" for d in notice.days),
        workdays=sum(d.kind == "workday" for d in notice.days),
        due_times=due_times,
        replaced=tuple(y for y in years if y in known),
    )
    audit.record(
        conn,
        "calendar_loaded",
        None,
        actor=actor,
        years=list(years),
        holidays=loaded.holidays,
        workdays=loaded.workdays,
        source="；".join(sorted({notice.sources[y] for y in years})),
        due_times=due_times,
    )
    return loaded


def next_year(today: date | None = None) -> int:
    """The year whose notice should be loaded by now: next year (Beijing time)."""
    return (today or datetime.now(LOCAL).date()).year + 1


def days_by_year(conn: Connection) -> dict[int, list[CalendarDay]]:
    """Every loaded day (holidays and make-up working days), by notice year, by date."""
    found: dict[int, list[CalendarDay]] = {}
    for row in conn.execute(
        sql_text("SELECT day, kind, name, year FROM work_calendar ORDER BY day")
    ):
        found.setdefault(row.year, []).append(CalendarDay(*row))
    return found
