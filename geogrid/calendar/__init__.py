"""The Chinese working calendar (public holidays and 调休 make-up working days, as the State
Council's yearly notices set them) and working-hour arithmetic over it.

The calendar ships as data (``geogrid/calendar/data/``), is kept in the ``work_calendar``
tables, and a district loads the next year's notice with ``geogrid calendar load``.
"""

from geogrid.calendar.hours import (
    DEFAULT_OFFICE_HOURS,
    KINDS,
    SHANGHAI,
    CalendarDay,
    Due,
    OfficeHours,
    WorkCalendar,
    add_calendar_hours,
    add_working_hours,
    build_calendar,
    working_hours_between,
)
from geogrid.calendar.store import (
    CalendarFile,
    calendar_years,
    load_calendar,
    parse_calendar,
    read_calendar_file,
    replace_years,
    shipped_calendar,
    stamped_calendar,
    year_days,
)

__all__ = [
    "DEFAULT_OFFICE_HOURS",
    "KINDS",
    "SHANGHAI",
    "CalendarDay",
    "CalendarFile",
    "Due",
    "OfficeHours",
    "WorkCalendar",
    "add_calendar_hours",
    "add_working_hours",
    "build_calendar",
    "calendar_years",
    "load_calendar",
    "parse_calendar",
    "read_calendar_file",
    "replace_years",
    "shipped_calendar",
    "stamped_calendar",
    "working_hours_between",
    "year_days",
]
