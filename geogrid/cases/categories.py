"""The case category catalogue, in the style of GB/T 30428 (digital urban management).

Event (事件) and component (部件) classes are separate lists whose major codes overlap, so a
code carries its type: ``E0102`` is event class 01 (市容环境), item 02 (暴露垃圾); ``C0102`` is
component class 01 (公用设施), item 02 (污水井盖). Each category has default handling hours.
The catalogue ships with geogrid (``geogrid/cases/catalogues/case_categories.csv``) and is replaced
with ``geogrid cases categories FILE``; a category no longer listed is deactivated, never
deleted, because old cases keep naming it.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, text

from geogrid.errors import ConflictError, InvalidInputError, LoadError, NotFoundError
from geogrid.i18n import tr

TYPE_ZH = {"event": "事件", "component": "部件"}
#: how a category's handling hours count: in working hours or round the clock
CLOCKS = ("working", "calendar")
CLOCK_ZH = {"working": "工作时", "calendar": "自然时"}
_CODE = re.compile(r"^[EC][0-9]{4}$")
_COLUMNS = ("code", "type", "major_name", "name", "handling_hours")
#: The longest handling time a category may give: 90 days. The catalogue's longest is 240 h.
MAX_HANDLING_HOURS = 90 * 24
#: The longest category or major class name.
NAME_MAX = 50


@dataclass(frozen=True)
class Category:
    """One kind of case with its default handling time."""

    code: str
    type: str
    major_name: str
    name: str
    handling_hours: float
    active: bool = True
    #: "working": the hours count in office hours of working days; "calendar": round the clock
    clock: str = "working"

    @property
    def major_code(self) -> str:
        return self.code[1:3]


def list_categories(conn: Connection, *, include_inactive: bool = False) -> list[Category]:
    """The catalogue, events first, by code."""
    rows = conn.execute(
        text(
            "SELECT code, type, major_name, name, handling_hours, active, clock FROM case_category "
            "WHERE active OR :all ORDER BY type DESC, code"
        ),
        {"all": include_inactive},
    )
    return [Category(*row) for row in rows]


def get_category(conn: Connection, code: str) -> Category:
    """One active category; an unknown code is refused naming close codes and names."""
    row = conn.execute(
        text(
            "SELECT code, type, major_name, name, handling_hours, active, clock FROM case_category "
            "WHERE code = :c AND active"
        ),
        {"c": code},
    ).one_or_none()
    if row is not None:
        return Category(*row)
    known = list_categories(conn)
    by_name = [c.code for c in known if c.name == code]
    if len(by_name) == 1:  # a name is as good as its code
        return get_category(conn, by_name[0])
    labels = [f"{c.code} {c.name}" for c in known]
    close = difflib.get_close_matches(
        code, [c.code for c in known] + [c.name for c in known], n=5, cutoff=0.3
    )
    hint = [label for label in labels if any(m in label for m in close)] or labels[:10]
    raise InvalidInputError(
        tr(
            'category was "{code}" but must be a catalogue code such as {hint} '
            "(GET /v1/case-categories lists them all)",
            code=code,
            hint=hint,
        ),
    )


def read_catalogue(path: Path) -> list[Category]:
    """Read and check a catalogue CSV (columns code, type, major_name, name, handling_hours and
    optionally clock: working, the default, or calendar)."""
    try:
        content = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise LoadError(f"cannot read {path}: {exc.strerror}") from None
    reader = csv.DictReader(io.StringIO(content))
    missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise LoadError(f"{path} lacks the columns {missing}; it needs {list(_COLUMNS)}")
    found: list[Category] = []
    problems: list[str] = []
    for line, row in enumerate(reader, start=2):
        code, kind = row["code"].strip(), row["type"].strip()
        try:
            hours = float(row["handling_hours"])
        except ValueError:
            hours = -1.0
        if not _CODE.match(code):
            problems.append(f'line {line}: code "{code}" must be E or C + 4 digits')
        elif kind not in TYPE_ZH or (kind == "event") != code.startswith("E"):
            problems.append(
                f'line {line}: type "{kind}" must be "event" for E codes and '
                '"component" for C codes'
            )
        elif not hours > 0:
            problems.append(
                f'line {line}: handling_hours "{row["handling_hours"]}" must be a positive number'
            )
        elif not row["name"].strip():
            problems.append(f"line {line}: name is empty")
        elif (clock := (row.get("clock") or "working").strip()) not in CLOCKS:
            problems.append(f'line {line}: clock "{clock}" must be one of {list(CLOCKS)}')
        else:
            found.append(
                Category(
                    code, kind, row["major_name"].strip(), row["name"].strip(), hours, clock=clock
                )
            )
    codes = [c.code for c in found]
    problems += [
        f'code "{c}" appears more than once' for c in sorted(set(codes)) if codes.count(c) > 1
    ]
    if problems or not found:
        raise LoadError(
            f"{path} is not a valid catalogue: {problems or ['no rows']}", details=problems
        )
    return found


def replace_catalogue(conn: Connection, categories: list[Category]) -> tuple[int, int]:
    """Make ``categories`` the active catalogue. Returns (active, deactivated) counts."""
    conn.execute(
        text(
            "INSERT INTO case_category (code, type, major_name, name, handling_hours, active, "
            "clock) VALUES (:code, :type, :major_name, :name, :handling_hours, true, :clock) "
            "ON CONFLICT (code) DO UPDATE SET type = EXCLUDED.type, "
            "major_name = EXCLUDED.major_name, name = EXCLUDED.name, "
            "handling_hours = EXCLUDED.handling_hours, active = true, clock = EXCLUDED.clock"
        ),
        [
            {
                "code": c.code,
                "type": c.type,
                "major_name": c.major_name,
                "name": c.name,
                "handling_hours": c.handling_hours,
                "clock": c.clock,
            }
            for c in categories
        ],
    )
    gone = conn.execute(
        text("UPDATE case_category SET active = false WHERE active AND NOT code = ANY(:codes)"),
        {"codes": [c.code for c in categories]},
    ).rowcount
    return len(categories), int(gone)


def check_category_name(name: str) -> str:
    found = " ".join(name.split())
    if not found or len(found) > NAME_MAX:
        raise InvalidInputError(
            tr("a category name must have 1 to {maximum} characters", maximum=NAME_MAX)
        )
    return found


def check_handling_hours(hours: float | str) -> float:
    """``hours`` (a number, or the text of one) when it is a sane handling time."""
    try:
        value = float(hours)
    except ValueError:
        value = float("nan")
    if not 0 < value <= MAX_HANDLING_HOURS:  # also refuses NaN
        raise InvalidInputError(
            tr(
                "handling hours were {hours} but must be more than 0 and at most {maximum}",
                hours=str(hours).strip()[:20] if isinstance(hours, str) else f"{hours:g}",
                maximum=MAX_HANDLING_HOURS,
            )
        )
    return value


def update_category(
    conn: Connection, code: str, *, name: str, handling_hours: float | str
) -> Category:
    """Rename a category or change its handling hours.

    The handling hours of a case are fixed when it is accepted, so new hours count for cases
    accepted from now on; cases already accepted keep their deadlines.

    Raises
    ------
    NotFoundError
        No active category has ``code``.
    InvalidInputError
        An empty or too long name; hours not within (0, :data:`MAX_HANDLING_HOURS`].
    """
    row = conn.execute(
        text(
            "UPDATE case_category SET name = :name, handling_hours = :hours "
            "WHERE code = :code AND active "
            "RETURNING code, type, major_name, name, handling_hours, active, clock"
        ),
        {
            "code": code,
            "name": check_category_name(name),
            "hours": check_handling_hours(handling_hours),
        },
    ).one_or_none()
    if row is None:
        raise NotFoundError(tr('no active case category has the code "{code}"', code=code[:20]))
    return Category(*row)


def add_category(
    conn: Connection, code: str, name: str, handling_hours: float | str, *, major_name: str = ""
) -> Category:
    """Add a category to the catalogue; its type follows its code (E event, C component).

    ``major_name`` may be left empty when the major class exists already (it keeps its
    name); a new major class needs one.

    Raises
    ------
    InvalidInputError
        A code not E or C + 4 digits, a missing major class name, an empty name, bad hours.
    ConflictError
        The code is in the catalogue already (perhaps deactivated: codes are never reused).
    """
    code = code.strip().upper()
    if not _CODE.match(code):
        raise InvalidInputError(
            tr(
                'category code was "{code}" but must be E (event) or C (component) followed '
                "by 4 digits: the major class and the item, such as E0102 or C0101",
                code=code[:20],
            )
        )
    kind = "event" if code.startswith("E") else "component"
    name = check_category_name(name)
    hours = check_handling_hours(handling_hours)
    existing = conn.execute(
        text("SELECT active FROM case_category WHERE code = :code"), {"code": code}
    ).one_or_none()
    if existing is not None:
        raise ConflictError(
            tr('the catalogue has the code "{code}" already; codes are unique', code=code)
            if existing.active
            else tr(
                'the code "{code}" belonged to a retired category; codes are never reused',
                code=code,
            )
        )
    known_major = conn.execute(
        text(
            "SELECT major_name FROM case_category WHERE type = :type "
            "AND substr(code, 2, 2) = :major ORDER BY active DESC, code LIMIT 1"
        ),
        {"type": kind, "major": code[1:3]},
    ).scalar_one_or_none()
    major = known_major or " ".join(major_name.split())
    if not major or len(major) > NAME_MAX:
        raise InvalidInputError(
            tr(
                "major class {major} of {code} is new: give it a name of 1 to {maximum} characters",
                major=code[1:3],
                code=code,
                maximum=NAME_MAX,
            )
        )
    added = conn.execute(
        text(
            "INSERT INTO case_category (code, type, major_name, name, handling_hours) "
            "VALUES (:code, :type, :major, :name, :hours) ON CONFLICT (code) DO NOTHING "
            "RETURNING code"
        ),
        {"code": code, "type": kind, "major": major, "name": name, "hours": hours},
    ).one_or_none()
    if added is None:  # someone added it since the check above
        raise ConflictError(
            tr('the catalogue has the code "{code}" already; codes are unique', code=code)
        )
    return Category(code, kind, major, name, hours)
