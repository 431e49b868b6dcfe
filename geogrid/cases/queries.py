"""Questions asked of many cases at once: lists, counts per unit or H3 cell, performance.

Every question takes a :class:`CaseFilter` — status, grid, community, street, category,
creation period (Asia/Shanghai when a time has no offset), overdue, open, flags, the
reporter's mobile grid — which runs
as one fixed SQL predicate over ``case_view`` (``geogrid/db/sql/case_filter.sql``) with every value
a bound parameter. A period is half-open, ``[created_from, created_to)``; a date as
``created_to`` includes that whole day, so 2026-05-01 to 2026-05-31 is May in Shanghai.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

import h3
from sqlalchemy import Connection, text

from geogrid.boundaries.grids import check_code
from geogrid.cases.lifecycle import STATUS_ZH, STATUSES
from geogrid.cases.records import Case, case_from_row
from geogrid.cases.routing import FLAGS
from geogrid.db.sqlfiles import sql
from geogrid.errors import InvalidInputError
from geogrid.i18n import tr
from geogrid.limits import ascii_digits
from geogrid.moments import LOCAL, in_range, read_iso

DEFAULT_LIMIT = 100
#: Larger pages are clamped to this, not refused (a case is a large object).
MAX_LIMIT = 1_000
COUNT_BY = ("grid", "community", "street", "category", "major", "status", "mobile_grid")
PERFORMANCE_BY = ("grid", "community", "street", "department")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UNIT_DIGITS = {"community": 12, "street": 9}
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")


@dataclass(frozen=True)
class CaseFilter:
    """Which cases: every given field must hold (statuses and flags: any of those listed).

    ``category`` is a catalogue code (E0102), a major class (E01, C01), a major class name
    (市容环境) or a category name (暴露垃圾). ``created_from``/``created_to`` are dates or
    datetimes; naive ones are Asia/Shanghai. ``open`` means not closed or void.
    ``mobile_grid`` is the name of the mobile grid (流动网格) whose member reported the case.
    """

    statuses: tuple[str, ...] = ()
    grid: str | None = None
    community: str | None = None
    street: str | None = None
    category: str | None = None
    created_from: date | datetime | None = None
    created_to: date | datetime | None = None
    overdue: bool | None = None
    open: bool | None = None
    flags: tuple[str, ...] = ()
    mobile_grid: str | None = None

    def __post_init__(self) -> None:
        for status in self.statuses:
            if status not in STATUSES:
                raise InvalidInputError(
                    tr(
                        'status was "{status}" but must be one of {STATUSES}',
                        status=status,
                        STATUSES=list(STATUSES),
                    ),
                )
        for flag in self.flags:
            if flag not in FLAGS:
                raise InvalidInputError(
                    tr(
                        'flag was "{flag}" but must be one of {FLAGS}', flag=flag, FLAGS=list(FLAGS)
                    ),
                )
        if self.grid is not None:
            check_code(self.grid)
        for level, digits in _UNIT_DIGITS.items():
            code = getattr(self, level)
            if code is not None and (len(code) != digits or not ascii_digits(code)):
                raise InvalidInputError(
                    tr(
                        '{level} was "{code}" but must be a {digits}-digit {level} code',
                        level=level,
                        code=code,
                        digits=digits,
                    ),
                )
        start, end = self.period()
        if start is not None and end is not None and start >= end:
            raise InvalidInputError(
                tr(
                    "from ({start}) must be before to ({end})",
                    start=start.isoformat(),
                    end=end.isoformat(),
                ),
            )

    @classmethod
    def parse(
        cls,
        *,
        status: str | Sequence[str] | None = None,
        grid: str | None = None,
        community: str | None = None,
        street: str | None = None,
        category: str | None = None,
        created_from: str | None = None,
        created_to: str | None = None,
        overdue: str | bool | None = None,
        open: str | bool | None = None,
        flags: str | Sequence[str] | None = None,
        mobile_grid: str | None = None,
    ) -> CaseFilter:
        """A filter from text as a URL or a command line gives it; lists may be comma-separated.

        Examples
        --------
        >>> f = CaseFilter.parse(status="accepted,dispatched", created_from="2026-05-01")
        >>> f.statuses, f.period()[0].isoformat()
        (('accepted', 'dispatched'), '2026-05-01T00:00:00+08:00')
        """
        return cls(
            statuses=_words(status),
            grid=_blank(grid),
            community=_blank(community),
            street=_blank(street),
            category=_blank(category),
            created_from=_moment("from", created_from),
            created_to=_moment("to", created_to),
            overdue=_flag("overdue", overdue),
            open=_flag("open", open),
            flags=_words(flags),
            mobile_grid=_blank(mobile_grid),
        )

    def period(self) -> tuple[datetime | None, datetime | None]:
        """``[start, end)`` as aware datetimes; a date ``created_to`` ends after that day."""
        return _start(self.created_from), _end(self.created_to)

    def describe(self) -> dict[str, Any]:
        """The filter as applied, for answers to echo (times in ISO 8601 with offset)."""
        start, end = self.period()
        return {
            "status": list(self.statuses) or None,
            "grid": self.grid,
            "community": self.community,
            "street": self.street,
            "category": self.category,
            "from": start and start.isoformat(),
            "to": end and end.isoformat(),
            "overdue": self.overdue,
            "open": self.open,
            "flags": list(self.flags) or None,
            "mobile_grid": self.mobile_grid,
        }


def _blank(value: str | None) -> str | None:
    if value is None:
        return None
    return value.strip() or None


def _words(value: str | Sequence[str] | None) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else list(value or [])
    return tuple(w.strip() for item in items for w in item.split(",") if w.strip())


def _flag(name: str, value: str | bool | None) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    word = value.strip().lower()
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise InvalidInputError(
        tr('{name} was "{value}" but must be one of ["true", "false"]', name=name, value=value),
    )


def _moment(name: str, value: str | None) -> date | datetime | None:
    if value is None or not value.strip():
        return None
    word = value.strip()
    try:
        found = date.fromisoformat(word) if _DATE.match(word) else read_iso(word)
    except ValueError:
        raise InvalidInputError(
            tr(
                '{name} was "{value}" but must be a date such as 2026-05-01 or an ISO '
                "8601 time such as 2026-05-01T09:30 (Asia/Shanghai unless it has an "
                "offset)",
                name=name,
                value=value,
            ),
        ) from None
    return in_range(name, found, value)


def _start(moment: date | datetime | None) -> datetime | None:
    if moment is None:
        return None
    if not isinstance(moment, datetime):
        return datetime.combine(moment, time(), LOCAL)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=LOCAL)


def _end(moment: date | datetime | None) -> datetime | None:
    if moment is not None and not isinstance(moment, datetime):
        return datetime.combine(moment + timedelta(days=1), time(), LOCAL)
    return _start(moment)


@cache
def _query(name: str) -> str:
    return sql(name).replace("{filter}", sql("case_filter"))


def category_codes(conn: Connection, category: str) -> list[str]:
    """The catalogue codes (inactive ones too) that a category filter value stands for."""
    codes = [
        r.code
        for r in conn.execute(
            text(
                "SELECT code FROM case_category WHERE code = :c OR left(code, 3) = :c "
                "OR major_name = :c OR name = :c ORDER BY code"
            ),
            {"c": category},
        )
    ]
    if codes:
        return codes
    majors = [
        f"{r.major} {r.major_name}"
        for r in conn.execute(
            text("SELECT DISTINCT left(code, 3) AS major, major_name FROM case_category ORDER BY 1")
        )
    ]
    raise InvalidInputError(
        tr(
            'category was "{category}" but must be a catalogue code such as E0102, '
            "a major class such as {majors}, or a category or class name (GET "
            "/v1/case-categories)",
            category=category,
            majors=majors,
        ),
    )


def filter_params(conn: Connection, found: CaseFilter) -> dict[str, Any]:
    """The bound parameters of ``case_filter.sql`` for ``found``."""
    start, end = found.period()
    return {
        "statuses": list(found.statuses) or None,
        "grid": found.grid,
        "community": found.community,
        "street": found.street,
        "categories": None if found.category is None else category_codes(conn, found.category),
        "created_from": start,
        "created_to": end,
        "overdue": found.overdue,
        "open": found.open,
        "flags": list(found.flags) or None,
        "mobile_grid": found.mobile_grid,
    }


@dataclass(frozen=True)
class CasePage:
    """One page of cases by id; ``next_after`` continues it (None on the last page)."""

    items: list[Case]
    number_matched: int
    limit: int
    limit_requested: int
    next_after: int | None


def clamp_limit(limit: int, largest: int = MAX_LIMIT) -> int:
    """A page size within 1..``largest`` (larger ones are clamped, smaller refused)."""
    if limit < 1:
        raise InvalidInputError(tr("limit was {limit} but must be at least 1", limit=limit))
    return min(limit, largest)


def case_rows(
    conn: Connection, found: CaseFilter, limit: int, after_id: int | None = None
) -> list[Any]:
    """Up to ``limit`` ``case_view`` rows the filter selects, by id after ``after_id``."""
    params = {**filter_params(conn, found), "after": after_id, "fetch": limit}
    return list(conn.execute(text(_query("case_list").replace("{order}", SORTS["id"])), params))


#: How a page of cases may be ordered: a name, "-" first for descending; each ends on id so
#: the order is total. Due times are NULL before acceptance and sort last either way.
SORTS = {
    "id": "id",
    "created": "created_at, id",
    "-created": "created_at DESC, id DESC",
    "due": "due_at ASC NULLS LAST, id",
    "-due": "due_at DESC NULLS LAST, id DESC",
}


def check_sort(sort: str) -> str:
    """``sort`` if it is one of :data:`SORTS`, else InvalidInputError naming the choices."""
    if sort not in SORTS:
        raise InvalidInputError(
            tr(
                '{name} was "{value}" but must be one of {allowed}',
                name="sort",
                value=sort,
                allowed=list(SORTS),
            ),
        )
    return sort


def list_cases(
    conn: Connection,
    found: CaseFilter,
    limit: int = DEFAULT_LIMIT,
    after_id: int | None = None,
    *,
    sort: str = "id",
    offset: int = 0,
    number_matched: int | None = None,
) -> CasePage:
    """One page of the cases ``found`` selects, oldest id first (keyset paging) by default.

    Parameters
    ----------
    limit
        Page size; above :data:`MAX_LIMIT` it is clamped.
    after_id
        Continue after this case id (a page's ``next_after``); only with ``sort="id"``.
    sort
        One of :data:`SORTS`, such as ``"-created"`` (newest first); pages other than by id
        are taken by ``offset``.
    offset
        Skip this many cases first (offset paging: page n starts at ``(n - 1) * limit``).
    number_matched
        How many cases the filter selects, when the caller knows it already (say from
        :func:`count_cases`): the count is not asked again.

    Returns
    -------
    CasePage
        The cases, how many match in all and the key of the next page (by id only; with
        another order the next page is the next ``offset``).
    """
    size = clamp_limit(limit)
    order = SORTS[check_sort(sort)]
    if offset < 0:
        raise InvalidInputError(tr("offset was {offset} but must be 0 or more", offset=offset))
    if after_id is not None and (sort != "id" or offset):
        raise InvalidInputError(tr("after continues the order by id only, without an offset"))
    params = filter_params(conn, found)
    matched = number_matched
    if matched is None:
        matched = conn.execute(
            text(f"SELECT count(*) FROM case_view WHERE {sql('case_filter')}"), params
        ).scalar_one()
    query = _query("case_list").replace("{order}", order)
    if offset:
        query += " OFFSET :offset"
    rows = list(
        conn.execute(
            text(query), {**params, "after": after_id, "fetch": size + 1, "offset": offset}
        )
    )
    more = len(rows) > size
    items = [case_from_row(r) for r in rows[:size]]
    following = items[-1].id if more and sort == "id" else None
    return CasePage(items, int(matched), size, limit, following)


@dataclass(frozen=True)
class UnitCount:
    """Cases of one unit (grid, community, street, category, class or status)."""

    code: str
    name: str
    cases: int
    open: int
    overdue: int


def count_cases(conn: Connection, found: CaseFilter, by: str = "grid") -> list[UnitCount]:
    """Cases per unit, by code; units without a selected case are left out.

    ``by`` is one of :data:`COUNT_BY` (``major`` is the category's class, such as E01 市容环境;
    a status is named in Chinese). The counts add up to the number of selected cases, except
    by ``mobile_grid``: that counts the cases mobile-grid members reported, per mobile grid
    (the others carry none and are left out; each counts for its grid as every case does).
    """
    _check_by(by, COUNT_BY)
    rows = conn.execute(text(_query("case_counts")), {**filter_params(conn, found), "by": by})
    return [
        UnitCount(
            r.unit_code,
            STATUS_ZH[r.unit_name] if by == "status" else r.unit_name,
            r.cases,
            r.open,
            r.overdue,
        )
        for r in rows
        if r.unit_code is not None
    ]


@dataclass(frozen=True)
class CellCount:
    """Cases whose location lies in one H3 cell."""

    cell: str
    cases: int
    open: int
    overdue: int


def count_h3(conn: Connection, found: CaseFilter, resolution: int = 9) -> list[CellCount]:
    """Cases per H3 cell (h3 v4) of ``resolution`` (0..15), in cell order, for heat maps.

    CGCS2000 and WGS84 differ by centimetres here, so stored points index H3 directly.
    """
    if isinstance(resolution, bool) or not 0 <= resolution <= 15:
        raise InvalidInputError(
            tr(
                "resolution was {resolution} but must be an H3 resolution in 0..15",
                resolution=resolution,
            ),
        )
    rows = conn.execute(
        text(
            "SELECT lon, lat, status NOT IN ('closed', 'void') AS open, coalesce(overdue, false) "
            f"AS overdue FROM case_view WHERE {sql('case_filter')}"
        ),
        filter_params(conn, found),
    )
    cells: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in rows:
        tally = cells[h3.latlng_to_cell(row.lat, row.lon, resolution)]
        tally[0] += 1
        tally[1] += int(row.open)
        tally[2] += int(row.overdue)
    return [CellCount(cell, *cells[cell]) for cell in sorted(cells)]


@dataclass(frozen=True)
class UnitPerformance:
    """How a grid, community or street handled the selected cases.

    ``closed_on_time_share`` is closed on time ÷ closed (None with nothing closed);
    ``mean_handling_hours`` is the mean, over closed cases, of the hours from acceptance to
    closure with time on hold not counted.
    """

    code: str | None
    name: str
    cases: int
    closed: int
    closed_on_time: int
    closed_on_time_share: float | None
    mean_handling_hours: float | None
    open: int
    overdue: int
    void: int


def performance(
    conn: Connection, found: CaseFilter, by: str = "grid"
) -> tuple[list[UnitPerformance], UnitPerformance]:
    """Per-unit performance over the selected cases, and the same over them all.

    For a district's monthly evaluation select the month's cases (``created_from`` and
    ``created_to``); ``by`` is grid, community or street. The total's code is None.

    Examples
    --------
    >>> may = CaseFilter.parse(created_from="2026-05-01", created_to="2026-05-31")
    >>> units, total = performance(conn, may, by="grid")  # doctest: +SKIP
    >>> total.closed_on_time_share  # doctest: +SKIP
    0.92
    """
    _check_by(by, PERFORMANCE_BY)
    rows = list(
        conn.execute(text(_query("case_performance")), {**filter_params(conn, found), "by": by})
    )
    units = [
        _performance(
            r.unit_code,
            r.unit_name,
            r.cases,
            r.closed,
            r.closed_on_time,
            r.timed,
            r.mean_handling_hours,
            r.open,
            r.overdue,
            r.void,
        )
        for r in rows
    ]

    def total_of(key: str) -> int:
        return sum(int(getattr(r, key)) for r in rows)

    timed = int(rows[0].all_timed) if rows else 0  # a case two grids held counts once
    hours = sum(float(r.mean_handling_hours) * r.timed for r in rows if r.timed)
    total = _performance(
        None,
        "合计",
        total_of("cases"),
        total_of("closed"),
        total_of("closed_on_time"),
        timed,
        hours / timed if timed else None,
        total_of("open"),
        total_of("overdue"),
        total_of("void"),
    )
    return units, total


def _performance(
    code: str | None,
    name: str,
    cases: int,
    closed: int,
    on_time: int,
    timed: int,
    mean_hours: float | None,
    open_: int,
    overdue: int,
    void: int,
) -> UnitPerformance:
    return UnitPerformance(
        code,
        name,
        cases,
        closed,
        on_time,
        round(on_time / closed, 4) if closed else None,
        None if mean_hours is None or not timed else round(float(mean_hours), 2),
        open_,
        overdue,
        void,
    )


def _check_by(by: str, allowed: tuple[str, ...]) -> None:
    if by not in allowed:
        raise InvalidInputError(
            tr('by was "{by}" but must be one of {allowed}', by=by, allowed=list(allowed)),
        )
