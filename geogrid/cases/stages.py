"""A case's stages, the time limit of each, urgency levels, and who was responsible when.

GB/T 30428's flow splits a case's life into stages with limits of their own. The case centre's
stages are 立案 (accept: reported → accepted), 派遣 (dispatch: accepted → dispatched) and 核查
(verify: handled → verified); the limit of each is set by the case's urgency level (the
``case_urgency`` table, shipped as ``catalogues/case_urgency.csv``). 处置 (handle: dispatched →
handled) is the grid's or department's stage; its limit is the handling hours of the category at
the case's urgency level (``case_category_level``, shipped as ``catalogues/case_levels.csv``: a
missing manhole cover is urgent, 2 h round the clock; a cracked one normal, 24 h). A category
with no levels has one, normal, with its own handling hours and clock. Every stage counts on the
case's clock (working hours or round the clock, as its category level says).

The 处置 clock starts at dispatch, not at acceptance: the centre's own delay is not charged to the
grid. A failed check (核查不通过) gives back the 处置 time that was left when the case was
reported handled; a re-dispatch after a department returned it (退单) starts afresh. Approved
extensions (延期) add their hours. Performance figures count only the hours each grid held a
case in 处置 (``case_duty``), on the case's clock.

A stage warns yellow once ``warning_share`` of its limit is used and red once it is over;
on hold, the clock stands still.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Connection, text

from geogrid.calendar import Due, WorkCalendar, working_hours_between
from geogrid.cases.categories import MAX_HANDLING_HOURS, Category
from geogrid.cases.deadlines import due_after, resumed_due
from geogrid.errors import InvalidInputError, LoadError
from geogrid.i18n import tr

STAGES = ("accept", "dispatch", "handle", "verify")
STAGE_ZH = {"accept": "立案", "dispatch": "派遣", "handle": "处置", "verify": "核查"}
#: The stage each open status is in (on hold: the stage it was put on hold from).
STAGE_OF = {
    "reported": "accept",
    "accepted": "dispatch",
    "dispatched": "handle",
    "in_progress": "handle",
    "handled": "verify",
}
#: The shipped urgency levels' names (a district may add levels: their names are in the table)
URGENCY_ZH = {"urgent": "紧急", "normal": "一般"}
WARNINGS = ("green", "yellow", "red")
WARNING_ZH = {"green": "正常", "yellow": "黄灯预警", "red": "红灯超时"}


@dataclass(frozen=True)
class Level:
    """One urgency level of a category: the condition it names and the limit of each stage."""

    urgency: str
    name: str
    condition: str
    handling_hours: float
    clock: str
    accept_hours: float
    dispatch_hours: float
    verify_hours: float

    def limit(self, stage: str) -> float:
        """The hours ``stage`` may take at this level."""
        return {
            "accept": self.accept_hours,
            "dispatch": self.dispatch_hours,
            "handle": self.handling_hours,
            "verify": self.verify_hours,
        }[stage]


_LEVELS = text(
    "SELECT u.urgency, u.name, u.accept_hours, u.dispatch_hours, u.verify_hours, "
    "l.condition, l.handling_hours, l.clock FROM case_urgency u "
    "LEFT JOIN case_category_level l ON l.urgency = u.urgency AND l.category = :c "
    "ORDER BY u.rank"
)


class LevelRow(NamedTuple):
    """An urgency with the category's own row for it, if any (as :func:`category_levels` reads it)."""

    urgency: str
    name: str
    accept_hours: float
    dispatch_hours: float
    verify_hours: float
    condition: str | None
    handling_hours: float | None
    clock: str | None


def category_levels(conn: Connection, category: Category) -> tuple[Level, ...]:
    """The urgency levels of ``category``, most urgent first."""
    rows = conn.execute(_LEVELS, {"c": category.code}).all()
    return levels_from_rows(category, [LevelRow(*r) for r in rows])


def levels_from_rows(category: Category, rows: list[LevelRow]) -> tuple[Level, ...]:
    """The levels of ``category`` from every urgency (most urgent first) joined with the
    category's own rows."""
    own = [r for r in rows if r.handling_hours is not None]
    if not own:  # one level, normal (or the least urgent there is), with the category's hours
        plain = next((r for r in rows if r.urgency == "normal"), rows[-1])
        return (
            Level(
                plain.urgency,
                plain.name,
                "",
                category.handling_hours,
                category.clock,
                plain.accept_hours,
                plain.dispatch_hours,
                plain.verify_hours,
            ),
        )
    return tuple(
        Level(
            r.urgency,
            r.name,
            r.condition or "",
            r.handling_hours,
            r.clock or category.clock,
            r.accept_hours,
            r.dispatch_hours,
            r.verify_hours,
        )
        for r in own
        if r.handling_hours is not None
    )


def all_levels(conn: Connection, categories: list[Category]) -> dict[str, tuple[Level, ...]]:
    """The levels of every category in ``categories`` (two queries, not one per category)."""
    urgencies = conn.execute(
        text(
            "SELECT urgency, name, accept_hours, dispatch_hours, verify_hours FROM case_urgency "
            "ORDER BY rank"
        )
    ).all()
    by_urgency = {u.urgency: u for u in urgencies}
    own: dict[str, list[Any]] = {}
    for row in conn.execute(
        text(
            "SELECT l.category, l.urgency, l.condition, l.handling_hours, l.clock "
            "FROM case_category_level l JOIN case_urgency u USING (urgency) ORDER BY u.rank"
        )
    ):
        own.setdefault(row.category, []).append(row)
    plain = by_urgency.get("normal", urgencies[-1])
    found: dict[str, tuple[Level, ...]] = {}
    for category in categories:
        rows = own.get(category.code)
        if not rows:
            found[category.code] = (
                Level(
                    plain.urgency,
                    plain.name,
                    "",
                    category.handling_hours,
                    category.clock,
                    plain.accept_hours,
                    plain.dispatch_hours,
                    plain.verify_hours,
                ),
            )
            continue
        found[category.code] = tuple(
            Level(
                r.urgency,
                by_urgency[r.urgency].name,
                r.condition,
                r.handling_hours,
                r.clock or category.clock,
                by_urgency[r.urgency].accept_hours,
                by_urgency[r.urgency].dispatch_hours,
                by_urgency[r.urgency].verify_hours,
            )
            for r in rows
        )
    return found


def choose_level(levels: tuple[Level, ...], urgency: str | None) -> Level:
    """The level named ``urgency``; not named: normal, or the least urgent the category has.

    Raises
    ------
    InvalidInputError
        The category has no level of that name (422, naming the ones it has).
    """
    if urgency is None:
        return next((lv for lv in levels if lv.urgency == "normal"), levels[-1])
    for level in levels:
        if level.urgency == urgency:
            return level
    raise InvalidInputError(
        tr(
            'urgency was "{urgency}" but this category has the levels {levels}',
            urgency=urgency[:20],
            levels=[f"{lv.urgency} ({lv.condition or lv.name})" for lv in levels],
        )
    )


@dataclass(frozen=True)
class StageClock:
    """When a stage started, when it warns yellow and when it runs out."""

    started_at: datetime
    yellow_at: datetime | None
    due_at: datetime | None
    calendar_missing: bool


def start_stage(
    calendar: WorkCalendar, clock: str, start: datetime, hours: float, share: float
) -> StageClock:
    """A stage of ``hours`` on ``clock`` starting at ``start``."""
    due = due_after(calendar, clock, start, hours)
    yellow = due_after(calendar, clock, start, hours * share)
    return StageClock(start, yellow.at, due.at, due.calendar_missing or yellow.calendar_missing)


def hours_between(calendar: WorkCalendar, clock: str, start: datetime, end: datetime) -> float:
    """The hours from ``start`` to ``end`` on ``clock`` (0 when they reach a year with no
    calendar: a duty span is then counted when the calendar is loaded, never guessed)."""
    if end <= start:
        return 0.0
    if clock == "calendar":
        return (end - start).total_seconds() / 3600.0
    return working_hours_between(start, end, calendar) or 0.0


def _moved(
    calendar: WorkCalendar, clock: str, at: datetime | None, since: datetime, now: datetime
) -> Due:
    if at is None:
        return Due(None)
    return resumed_due(calendar, clock, at, since, now)


def after_move(
    conn: Connection,
    row: Any,
    to: str,
    now: datetime,
    calendar: WorkCalendar,
    level: Level,
    share: float,
) -> None:
    """Keep the case's stage, its 处置 due time and its duty spans in step with a move.

    ``row`` is the case as it was before moving (locked, :func:`geogrid.cases.records._locked`),
    ``now`` the moment of the move (the transaction's time).
    """
    clock = row.clock or level.clock
    before = row.held_from if row.status == "on_hold" else row.status
    stage_before = STAGE_OF.get(before)
    stage_after = STAGE_OF.get(to)
    changes: dict[str, Any] = {}
    # A grid's span in 处置 ends whenever the case leaves it (or is put on hold).
    if row.status in ("dispatched", "in_progress") and to not in ("dispatched", "in_progress"):
        hours = end_duty(conn, row.id, now, calendar, clock)
        if hours is not None:
            changes["responsible_hours"] = row.responsible_hours + hours
    if to == "on_hold":
        pass  # the stage's clock stands still (case_view reads it at hold_started_at)
    elif row.status == "on_hold":  # resumed: the stage's times move on by the time on hold
        due = _moved(calendar, clock, row.stage_due_at, row.hold_started_at, now)
        yellow = _moved(calendar, clock, row.stage_yellow_at, row.hold_started_at, now)
        changes.update(stage_due_at=due.at, stage_yellow_at=yellow.at)
        if to == "void":
            changes.update(stage_warned=None)
    elif stage_after is not None and stage_after != stage_before:
        changes["stage_warned"] = None
        if stage_after == "handle" and before == "handled":
            # 核查不通过: the 处置 time left when it was reported handled, from now
            due = _moved(calendar, clock, row.clock_due_at, row.handled_at, now)
            left = (
                hours_between(calendar, clock, row.handled_at, row.clock_due_at)
                if (row.clock_due_at is not None and row.handled_at is not None)
                else 0.0
            )
            yellow = due_after(calendar, clock, now, left * share)
            changes.update(
                clock_due_at=due.at,
                stage_due_at=due.at,
                stage_yellow_at=yellow.at if due.at is not None else None,
                stage_started_at=now,
            )
        elif stage_after == "handle":  # dispatched: 处置 starts now, with the level's hours
            hours = (row.due_hours or level.handling_hours) + 0.0
            started = start_stage(calendar, clock, now, hours, share)
            changes.update(
                clock_due_at=started.due_at,
                stage_due_at=started.due_at,
                stage_yellow_at=started.yellow_at,
                stage_started_at=now,
                extended_hours=0.0,
                calendar_missing=started.calendar_missing,
            )
        else:
            if stage_after == "verify":
                changes["handled_at"] = now
            started = start_stage(calendar, clock, now, level.limit(stage_after), share)
            changes.update(
                stage_due_at=started.due_at,
                stage_yellow_at=started.yellow_at,
                stage_started_at=now,
            )
    elif stage_after is None:
        changes["stage_warned"] = None
    if to in ("dispatched", "in_progress") and row.status not in ("dispatched", "in_progress"):
        conn.execute(
            text(
                "INSERT INTO case_duty (case_id, grid_code, department_code, started_at) "
                "SELECT id, grid_code, department_code, :now FROM civic_case WHERE id = :id"
            ),
            {"id": row.id, "now": now},
        )
    if changes:
        assignments = ", ".join(f"{column} = :{column}" for column in changes)
        conn.execute(
            text(f"UPDATE civic_case SET {assignments} WHERE id = :id"),  # columns are ours
            {**changes, "id": row.id},
        )


def end_duty(
    conn: Connection, case_id: int, now: datetime, calendar: WorkCalendar, clock: str
) -> float | None:
    """End the case's open duty span at ``now``; returns the hours it counted (None: none
    was open)."""
    span = conn.execute(
        text(
            "SELECT id, started_at FROM case_duty WHERE case_id = :id AND ended_at IS NULL "
            "ORDER BY id DESC LIMIT 1"
        ),
        {"id": case_id},
    ).one_or_none()
    if span is None:
        return None
    hours = hours_between(calendar, clock, span.started_at, now)
    conn.execute(
        text("UPDATE case_duty SET ended_at = :now, hours = :h WHERE id = :d"),
        {"now": now, "h": hours, "d": span.id},
    )
    return hours


def reassign_duty(
    conn: Connection,
    case_id: int,
    grid_code: str,
    now: datetime,
    calendar: WorkCalendar,
    clock: str,
) -> None:
    """A case in 处置 moved to another grid: the old grid's span ends, the new one's starts."""
    hours = end_duty(conn, case_id, now, calendar, clock)
    if hours is None:  # not in 处置: nobody's span to move
        return
    conn.execute(
        text("UPDATE civic_case SET responsible_hours = responsible_hours + :h WHERE id = :id"),
        {"h": hours, "id": case_id},
    )
    conn.execute(
        text(
            "INSERT INTO case_duty (case_id, grid_code, department_code, started_at) "
            "SELECT id, :g, department_code, :now FROM civic_case WHERE id = :id"
        ),
        {"id": case_id, "g": grid_code, "now": now},
    )


_LEVEL_COLUMNS = ("code", "urgency", "condition", "handling_hours")


def read_levels(path: Path) -> list[dict[str, Any]]:
    """Read and check a levels CSV (columns code, urgency, condition, handling_hours and
    optionally clock), as ``catalogues/case_levels.csv`` is. Every bad line is named."""
    try:
        content = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise LoadError(f"cannot read {path}: {exc.strerror}") from None
    reader = csv.DictReader(io.StringIO(content))
    missing = [c for c in _LEVEL_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise LoadError(f"{path} lacks the columns {missing}; it needs {list(_LEVEL_COLUMNS)}")
    found: list[dict[str, Any]] = []
    problems: list[str] = []
    for line, row in enumerate(reader, start=2):
        try:
            hours = float(row["handling_hours"])
        except ValueError:
            hours = -1.0
        clock = (row.get("clock") or "").strip() or None
        if not 0 < hours <= MAX_HANDLING_HOURS:
            problems.append(
                f'line {line}: handling_hours "{row["handling_hours"]}" must be more than 0 '
                f"and at most {MAX_HANDLING_HOURS}"
            )
        elif clock not in (None, "working", "calendar"):
            problems.append(f'line {line}: clock "{clock}" must be working, calendar or empty')
        elif not row["condition"].strip():
            problems.append(f"line {line}: condition is empty (say what makes the level)")
        else:
            found.append(
                {
                    "code": row["code"].strip().upper(),
                    "urgency": row["urgency"].strip(),
                    "condition": row["condition"].strip(),
                    "hours": hours,
                    "clock": clock,
                    "line": line,
                }
            )
    keys = [(f["code"], f["urgency"]) for f in found]
    problems += [
        f"{k[0]} {k[1]} appears more than once" for k in sorted(set(keys)) if keys.count(k) > 1
    ]
    if problems:
        raise LoadError(f"{path} is not a valid levels file: {problems}", details=problems)
    return found


def replace_levels(conn: Connection, levels: list[dict[str, Any]]) -> int:
    """Make ``levels`` the categories' urgency levels (all or nothing). Unknown category codes
    and urgency names are refused naming their lines."""
    categories = set(conn.execute(text("SELECT code FROM case_category")).scalars())
    urgencies = set(conn.execute(text("SELECT urgency FROM case_urgency")).scalars())
    problems = [
        f'line {lv["line"]}: category "{lv["code"]}" is not in the catalogue'
        for lv in levels
        if lv["code"] not in categories
    ] + [
        f'line {lv["line"]}: urgency "{lv["urgency"]}" must be one of {sorted(urgencies)}'
        for lv in levels
        if lv["urgency"] not in urgencies
    ]
    if problems:
        raise LoadError(f"the levels were not loaded: {problems}", details=problems)
    conn.execute(text("DELETE FROM case_category_level"))
    if levels:
        conn.execute(
            text(
                "INSERT INTO case_category_level (category, urgency, condition, handling_hours, "
                "clock) VALUES (:code, :urgency, :condition, :hours, :clock)"
            ),
            levels,
        )
    return len(levels)
