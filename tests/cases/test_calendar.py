"""The Chinese working calendar and working-hour arithmetic (geogrid.calendar): the shipped
notices, make-up working days, office hours, years with no calendar, and the vectorised path
agreeing with the one-at-a-time one."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine, text

from geogrid.calendar import (
    DEFAULT_OFFICE_HOURS,
    SHANGHAI,
    OfficeHours,
    WorkCalendar,
    add_calendar_hours,
    add_working_hours,
    build_calendar,
    calendar_years,
    load_calendar,
    read_calendar_file,
    replace_years,
    shipped_calendar,
    working_hours_between,
    year_days,
)
from geogrid.errors import InvalidInputError, LoadError


@pytest.fixture(scope="module")
def calendar() -> WorkCalendar:
    found = shipped_calendar()
    return build_calendar(found.days, found.years, DEFAULT_OFFICE_HOURS)


def sh(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SHANGHAI)


def test_accepted_at_closing_before_national_day_is_due_after_the_holiday(
    calendar: WorkCalendar,
) -> None:
    # 国务院办公厅关于2025年部分节假日安排的通知（国办发明电〔2024〕12号）: 国庆节、中秋节
    # 10月1日（周三）至8日（周三）放假调休，共8天; 9月28日（周日）、10月11日（周六）上班.
    # Accepted Tuesday 30 September 2025 at 17:30, the close of its last working day, with 4
    # working hours: nothing counts until Thursday 9 October opens at 08:30; 08:30-12:00 uses
    # 3.5 h, the last 0.5 h runs from 13:30, so it is due at 14:00 (+08:00).
    due = add_working_hours(sh(2025, 9, 30, 17, 30), 4, calendar)
    assert not due.calendar_missing
    assert due.at == datetime.fromisoformat("2025-10-09T14:00:00+08:00")
    assert due.at is not None and due.at.isoformat() == "2025-10-09T14:00:00+08:00"
    # and the same case by the calendar clock: 4 h round the clock
    assert add_calendar_hours(sh(2025, 9, 30, 17, 30), 4).at == sh(2025, 9, 30, 21, 30)


def test_a_make_up_saturday_is_a_working_day(calendar: WorkCalendar) -> None:
    # the same notice: Saturday 11 October 2025 is worked (调休上班); Saturday 4 October is off
    assert calendar.is_workday(date(2025, 10, 11)) is True
    assert calendar.is_workday(date(2025, 10, 4)) is False
    assert calendar.is_workday(date(2025, 10, 18)) is False  # an ordinary Saturday
    assert calendar.is_workday(date(2025, 9, 28)) is True  # the Sunday worked before it
    # Friday 10 October 17:00 + 1 h: 0.5 h that evening, 0.5 h on the worked Saturday
    assert add_working_hours(sh(2025, 10, 10, 17, 0), 1, calendar).at == sh(2025, 10, 11, 9, 0)
    # 0.5 h on Friday, the whole Saturday (7.5 h) and 08:30-09:00 on Monday
    assert working_hours_between(sh(2025, 10, 10, 17), sh(2025, 10, 13, 9), calendar) == 8.5


def test_a_span_into_a_year_without_a_calendar_is_calendar_missing(
    calendar: WorkCalendar,
) -> None:
    assert max(calendar.years) == 2026  # the latest notice chinese-calendar 1.11.0 knows
    assert calendar.is_workday(date(2027, 1, 4)) is None
    due = add_working_hours(sh(2026, 12, 31, 17, 0), 1, calendar)
    assert due.at is None and due.calendar_missing
    # within the year it is answered: 31 December 2026 is a Thursday
    assert add_working_hours(sh(2026, 12, 31, 16, 0), 1, calendar).at == sh(2026, 12, 31, 17)
    assert add_working_hours(sh(2003, 12, 31, 9, 0), 1, calendar).calendar_missing
    assert working_hours_between(sh(2026, 12, 1), sh(2027, 1, 5), calendar) is None


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        ((2025, 9, 30, 7, 0), 1, (2025, 9, 30, 9, 30)),  # before opening: starts at 08:30
        ((2025, 9, 30, 12, 30), 1, (2025, 9, 30, 14, 30)),  # at lunch: starts at 13:30
        ((2025, 9, 30, 11, 0), 1, (2025, 9, 30, 12, 0)),  # exactly to the morning's close
        ((2025, 9, 30, 20, 0), 0.5, (2025, 10, 9, 9, 0)),  # evening before the holiday
        ((2025, 10, 3, 10, 0), 7.5, (2025, 10, 9, 17, 30)),  # in the holiday: one whole day
        ((2026, 2, 13, 17, 0), 1, (2026, 2, 14, 9, 0)),  # 2026: Saturday 14 February worked
    ],
)
def test_office_hours_and_working_days(
    calendar: WorkCalendar,
    start: tuple[int, ...],
    hours: float,
    due: tuple[int, ...],
) -> None:
    found = add_working_hours(sh(*start), hours, calendar)
    assert found.at == sh(*due)
    assert working_hours_between(sh(*start), sh(*due), calendar) == pytest.approx(hours)


def test_other_office_hours_and_time_zones(calendar: WorkCalendar) -> None:
    nine_to_five = build_calendar(calendar.days, calendar.years, "09:00-17:00")
    assert add_working_hours(sh(2025, 9, 30, 16), 2, nine_to_five).at == sh(2025, 10, 9, 10)
    utc = datetime(2025, 9, 30, 9, 30, tzinfo=UTC)  # 17:30 in Shanghai
    assert add_working_hours(utc, 4, calendar).at == sh(2025, 10, 9, 14)
    with pytest.raises(InvalidInputError, match="no offset"):
        add_working_hours(datetime(2025, 9, 30, 9), 1, calendar)


@pytest.mark.parametrize(
    "bad", ["8-12", "12:00-08:30", "08:30-12:00,11:00-17:00", "", "25:00-26:00"]
)
def test_bad_office_hours_are_refused_naming_them(bad: str) -> None:
    with pytest.raises(InvalidInputError, match="office hours were"):
        OfficeHours.parse(bad)


def test_the_shipped_calendar_agrees_with_chinese_calendar_on_every_day() -> None:
    chinese_calendar = pytest.importorskip("chinese_calendar")
    found = shipped_calendar()
    assert found.years == frozenset(range(2004, 2027))
    assert "国办发明电〔2024〕12号" in found.sources[2025]
    calendar = build_calendar(found.days, found.years, DEFAULT_OFFICE_HOURS)
    day, differ = date(2004, 1, 1), []
    while day <= date(2026, 12, 31):
        if calendar.is_workday(day) != chinese_calendar.is_workday(day):
            differ.append(day)
        day += timedelta(days=1)
    assert differ == []


def test_many_at_once_agree_with_one_at_a_time(calendar: WorkCalendar) -> None:
    rng = random.Random(15)
    starts = [
        sh(2024, 1, 1) + timedelta(minutes=rng.randrange(0, 2 * 365 * 24 * 60)) for _ in range(300)
    ]
    hours = [rng.choice([0.5, 1, 2, 4, 7.5, 24, 48, 72, 168]) for _ in starts]
    dues, missing = calendar.add_seconds(
        np.array([s.timestamp() for s in starts]), np.array(hours) * 3600
    )
    assert not missing.any()
    for start, h, due in zip(starts, hours, dues, strict=True):
        one = add_working_hours(start, h, calendar).at
        assert one is not None and one.timestamp() == pytest.approx(float(due))
        assert working_hours_between(start, one, calendar) == pytest.approx(h)


def test_the_scalar_path_equals_the_vectorised_one_to_the_bit(calendar: WorkCalendar) -> None:
    # add_working_hours (one case) takes WorkCalendar.add_seconds_one; the 100,000-case
    # recomputation takes add_seconds: the same due time either way, missing years included
    # (the shipped calendar stops at a year; spans from its last weeks run past it).
    rng = np.random.default_rng(30428)
    first = datetime(min(calendar.years), 1, 1, tzinfo=SHANGHAI).timestamp()
    last = datetime(max(calendar.years) + 1, 1, 1, tzinfo=SHANGHAI).timestamp()
    starts = rng.uniform(first - 86400 * 3, last + 86400 * 3, 5000)
    seconds = np.concatenate([rng.uniform(0, 400 * 3600, 4000), rng.choice([0.0, 1800.0], 1000)])
    dues, missing = calendar.add_seconds(starts, seconds)
    assert missing.any() and not missing.all()
    for start, span, due, gone in zip(starts, seconds, dues, missing, strict=True):
        one = calendar.add_seconds_one(float(start), float(span))
        assert (one is None) == bool(gone)
        assert one is None or one == float(due)


def test_a_calendar_file_is_checked_line_by_line(tmp_path: Path) -> None:
    good = tmp_path / "2027.csv"
    good.write_text(
        "# 国务院办公厅关于2027年部分节假日安排的通知 (a made-up example)\n"
        "date,kind,name,year\n2026-12-31,holiday,元旦,2027\n2027-01-01,holiday,元旦,\n"
        "2027-01-09,workday,元旦,\n",
        encoding="utf-8",
    )
    found = read_calendar_file(good, "test notice")
    assert found.years == {2027} and found.sources == {2027: "test notice"}
    assert [d.year for d in found.days] == [2027, 2027, 2027]
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "date,kind,name\n2027-13-01,holiday,x\n2027-01-04,workday,元旦\n"
        "2027-01-02,closed,元旦\n2027-01-01,holiday,元旦\n2027-01-01,holiday,元旦\n",
        encoding="utf-8",
    )
    with pytest.raises(LoadError) as refused:
        read_calendar_file(bad)
    details = refused.value.details
    assert details is not None and len(details) == 4
    assert any("Monday" in d and "Saturday or Sunday" in d for d in details)
    with pytest.raises(LoadError, match="lacks the columns"):
        (tmp_path / "x.csv").write_text("day,kind\n", encoding="utf-8")
        read_calendar_file(tmp_path / "x.csv")


def test_the_database_holds_the_shipped_calendar_and_loads_a_new_year(
    fresh_demo_url: str, tmp_path: Path
) -> None:
    engine = create_engine(fresh_demo_url)
    with engine.begin() as conn:
        years = calendar_years(conn)
        assert [y.year for y in years] == list(range(2004, 2027))
        assert "国办发明电〔2024〕12号" in years[21].source
        national_day = [d for d in year_days(conn, 2025) if d.name == "国庆节"]
        assert [d.day.day for d in national_day if d.kind == "workday"] == [28, 11]
        before = load_calendar(conn, DEFAULT_OFFICE_HOURS)
        assert before.is_workday(date(2027, 1, 4)) is None
    notice = tmp_path / "2027.csv"
    notice.write_text("date,kind,name\n2027-01-01,holiday,元旦\n", encoding="utf-8")
    with engine.begin() as conn:
        replace_years(conn, read_calendar_file(notice, "2027 notice"))
        after = load_calendar(conn, DEFAULT_OFFICE_HOURS)  # a new load is seen at once
        assert after.is_workday(date(2027, 1, 4)) is True
        assert after.is_workday(date(2027, 1, 1)) is False
    with engine.begin() as conn:  # loading it again replaces that year, nothing else
        notice.write_text("date,kind,name\n2027-01-02,holiday,元旦\n", encoding="utf-8")
        replace_years(conn, read_calendar_file(notice))
        rows = conn.execute(text("SELECT day FROM work_calendar WHERE year = 2027")).scalars()
        assert list(rows) == [date(2027, 1, 2)]
        assert len(calendar_years(conn)) == 24
    engine.dispose()
