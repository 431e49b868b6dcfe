"""The registers: what each is called, which columns its files have (Chinese or English
headers), and how one row becomes a record, checked against the units that exist.

A row's check raises ValueError naming the bad value and what is allowed; the loader
(geogrid.organisations.files) collects them by line and refuses the whole file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from geogrid.boundaries.grids import Person
from geogrid.boundaries.releases import current_release
from geogrid.organisations.records import (
    LAW_ROLES,
    MOBILE_ROLES,
    OCCUPATIONS,
    PHONE,
    PLATFORM_KINDS,
    STAFF_ROLES,
    VOLUNTEER_ROLES,
    BuildingGroup,
    LawMember,
    MobileMember,
    PartyBranch,
    PartyHousehold,
    Platform,
    Record,
    StaffMember,
    VolunteerMember,
)
from geogrid.responsibility import table_field

#: How a cell lists several codes: 340102001001001;340102001001002 (or ， 、 , or spaces).
_LIST = re.compile(r"[;；,，、\s]+")
_YES = {"1", "true", "yes", "y", "是"}
_NO = {"", "0", "false", "no", "n", "否"}


@dataclass(frozen=True)
class Units:
    """The codes a row may name: grids of the current release, compounds, communities,
    streets."""

    grids: frozenset[str]
    compounds: frozenset[int]
    communities: frozenset[str]
    streets: frozenset[str]


def known_units(conn: Connection) -> Units:
    """The units that exist now (grids: those of the current boundary release)."""
    release = current_release(conn)
    grids: list[str] = []
    if release is not None:
        found = conn.execute(text("SELECT grid_code FROM grid_geometry_in(:r)"), {"r": release.id})
        grids = [str(g) for g in found.scalars()]
    return Units(
        frozenset(grids),
        frozenset(int(i) for i in conn.execute(text("SELECT id FROM compound")).scalars()),
        frozenset(str(c) for c in conn.execute(text("SELECT code FROM community")).scalars()),
        frozenset(str(s) for s in conn.execute(text("SELECT code FROM street")).scalars()),
    )


@dataclass(frozen=True)
class Register:
    """One register: its name (the CLI's REGISTER), its columns (name -> header aliases,
    English first) and how a row becomes a record."""

    name: str
    title: str
    headers: dict[str, tuple[str, ...]]
    parse: Callable[[Callable[[str], str], Units], Record]
    #: the person of a record, whom a register may list once (same name and phone)
    person: Callable[[Any], Person]


def check_phone(value: str, column: str = "phone") -> str:
    """``value`` if it is a mainland mobile (11 digits, 1[3-9]…) or a landline such as
    0551-12345678; ValueError naming it otherwise.

    Examples
    --------
    >>> check_phone("13812345678"), check_phone("0551-62345678")
    ('13812345678', '0551-62345678')
    >>> check_phone("12345")
    Traceback (most recent call last):
    ValueError: phone was "12345" but must be an 11-digit mobile (1[3-9] and 9 digits) or a \
landline such as 0551-12345678
    """
    value = value.replace(" ", "")
    if not PHONE.fullmatch(value):
        raise ValueError(
            f'{column} was "{value[:30]}" but must be an 11-digit mobile (1[3-9] and 9 digits) '
            "or a landline such as 0551-12345678"
        )
    return value


def check_text(value: str, column: str, longest: int = 50, *, required: bool = True) -> str:
    """``value`` if it has 1 to ``longest`` characters (or none, when not required)."""
    if (required and not value) or len(value) > longest:
        raise ValueError(f"{column} must have 1 to {longest} characters")
    return value


def _person(field: Callable[[str], str], prefix: str = "", *, required: bool = True) -> Person:
    name, phone = field(prefix + "name"), field(prefix + "phone")
    if not required and not name and not phone:
        return Person(None, None)
    return Person(check_text(name, prefix + "name"), check_phone(phone, prefix + "phone"))


def _choice(value: str, column: str, allowed: dict[str, str]) -> str:
    """The stored word for ``value``, given in Chinese or as the stored word itself."""
    if value in allowed:
        return allowed[value]
    if value in allowed.values():
        return value
    raise ValueError(f'{column} was "{value[:30]}" but must be one of {list(allowed)}')


def _grid(value: str, units: Units) -> str:
    if value not in units.grids:
        raise ValueError(f'grid code "{value[:30]}" is not a grid of the current release')
    return value


def _compound(value: str, units: Units) -> int:
    if not value.isascii() or not value.isdigit() or int(value) not in units.compounds:
        raise ValueError(f'compound "{value[:30]}" is not the id of a compound')
    return int(value)


def _codes(value: str, column: str) -> list[str]:
    found = [v for v in _LIST.split(value) if v]
    if not found:
        raise ValueError(f"{column} must list at least one code")
    return found


def _staff(field: Callable[[str], str], units: Units) -> Record:
    return StaffMember(
        _grid(field("grid"), units), _choice(field("role"), "role", STAFF_ROLES), _person(field)
    )


def _branch(field: Callable[[str], str], units: Units) -> Record:
    return PartyBranch(
        _grid(field("grid"), units),
        check_text(field("name"), "name", 100),
        _person(field, "secretary_"),
    )


def _building_group(field: Callable[[str], str], units: Units) -> Record:
    return BuildingGroup(
        _compound(field("compound"), units),
        check_text(field("building"), "building", required=False),
        check_text(field("name"), "name", 100),
        _person(field, "leader_"),
    )


def _household(field: Callable[[str], str], units: Units) -> Record:
    return PartyHousehold(
        _compound(field("compound"), units),
        check_text(field("building"), "building", required=False),
        check_text(field("group"), "group", 100, required=False),
        _person(field),
    )


def _volunteer(field: Callable[[str], str], units: Units) -> Record:
    listed = field("compounds")
    return VolunteerMember(
        check_text(field("team"), "team", 100),
        _choice(field("role") or "队员", "role", VOLUNTEER_ROLES),
        _person(field),
        tuple(_compound(c, units) for c in _LIST.split(listed) if c),
    )


def _law_member(field: Callable[[str], str], units: Units) -> Record:
    communities = _codes(field("communities"), "communities")
    unknown = [c for c in communities if c not in units.communities]
    if unknown:
        raise ValueError(f"communities {unknown[:5]} are not community codes")
    return LawMember(
        _choice(field("role"), "role", LAW_ROLES),
        check_text(field("unit"), "unit", 100, required=False),
        tuple(communities),
        _person(field),
    )


def _platform(field: Callable[[str], str], units: Units) -> Record:
    grids = [_grid(g, units) for g in _codes(field("grids"), "grids")]
    return Platform(
        check_text(field("name"), "name", 100),
        _choice(field("kind"), "kind", PLATFORM_KINDS),
        tuple(grids),
        _person(field, "convener_", required=False),
    )


def _mobile(field: Callable[[str], str], units: Units) -> Record:
    street = field("street")
    if street not in units.streets:
        raise ValueError(f'street code "{street[:30]}" is not a street of the district')
    member = field("party_member").lower()
    if member not in _YES | _NO:
        raise ValueError(f'party_member was "{member[:10]}" but must be 是 or 否 (1 or 0)')
    return MobileMember(
        check_text(field("mobile_grid"), "mobile_grid", 100),
        street,
        _choice(field("role") or "成员", "role", MOBILE_ROLES),
        _choice(field("occupation"), "occupation", OCCUPATIONS),
        member in _YES,
        _person(field),
    )


_NAME = ("name", "姓名")
_PHONE = ("phone", "联系电话", "电话")
_GRID = ("grid", "网格编码")
_COMPOUND = ("compound", "小区编号")
_BUILDING = ("building", "楼栋")


def _of(record: Any, attribute: str = "person") -> Person:
    found: Person = getattr(record, attribute)
    return found


#: Every register, by the name the command line and the files use.
REGISTERS: dict[str, Register] = {
    r.name: r
    for r in (
        Register(
            "staff",
            "网格员",
            {"grid": _GRID, "role": ("role", "职务"), "name": _NAME, "phone": _PHONE},
            _staff,
            _of,
        ),
        Register(
            "branches",
            "网格党支部",
            {
                "grid": _GRID,
                "name": ("name", "支部名称"),
                "secretary_name": ("secretary_name", "书记"),
                "secretary_phone": ("secretary_phone", "书记电话"),
            },
            _branch,
            lambda r: _of(r, "secretary"),
        ),
        Register(
            "building-groups",
            "楼栋党小组",
            {
                "compound": _COMPOUND,
                "building": _BUILDING,
                "name": ("name", "小组名称"),
                "leader_name": ("leader_name", "组长"),
                "leader_phone": ("leader_phone", "组长电话"),
            },
            _building_group,
            lambda r: _of(r, "leader"),
        ),
        Register(
            "households",
            "党员中心户",
            {
                "compound": _COMPOUND,
                "building": _BUILDING,
                "group": ("group", "党小组"),
                "name": _NAME,
                "phone": _PHONE,
            },
            _household,
            _of,
        ),
        Register(
            "volunteers",
            "小巷管家",
            {
                "team": ("team", "队伍名称"),
                "role": ("role", "职务"),
                "name": _NAME,
                "phone": _PHONE,
                "compounds": ("compounds", "服务小区"),
            },
            _volunteer,
            _of,
        ),
        Register(
            "law-members",
            "政法网格员",
            {
                "role": ("role", "身份"),
                "unit": ("unit", "单位"),
                "name": _NAME,
                "phone": _PHONE,
                "communities": ("communities", "服务社区"),
            },
            _law_member,
            _of,
        ),
        Register(
            "platforms",
            "协商议事平台",
            {
                "name": ("name", "平台名称"),
                "kind": ("kind", "类型"),
                "grids": ("grids", "服务网格"),
                "convener_name": ("convener_name", "召集人"),
                "convener_phone": ("convener_phone", "召集人电话"),
            },
            _platform,
            lambda r: _of(r, "convener"),
        ),
        Register(
            "mobile-grids",
            "流动网格",
            {
                "mobile_grid": ("mobile_grid", "流动网格"),
                "street": ("street", "街道编码"),
                "role": ("role", "职务"),
                "occupation": ("occupation", "职业"),
                "party_member": ("party_member", "党员"),
                "name": _NAME,
                "phone": _PHONE,
            },
            _mobile,
            _of,
        ),
    )
}


def whole_file_problems(records: list[tuple[int, Record]]) -> list[tuple[int, str]]:
    """What rows that are each good get wrong together, by line: a second branch for a grid;
    a mobile grid with no leader or with two, or in two streets; a team with two captains."""
    problems: list[tuple[int, str]] = []
    branches: dict[str, int] = {}
    captains: dict[str, int] = {}
    leaders: dict[str, int] = {}
    mobile: dict[str, tuple[int, str]] = {}
    for line, record in records:
        if isinstance(record, PartyBranch):
            if record.grid_code in branches:
                problems.append(
                    (
                        line,
                        f"grid {record.grid_code} has a branch on line "
                        f"{branches[record.grid_code]} too: a grid has at most one",
                    )
                )
            branches.setdefault(record.grid_code, line)
        elif isinstance(record, VolunteerMember) and record.role == "captain":
            if record.team in captains:
                problems.append(
                    (
                        line,
                        f"team {record.team} has a captain on line {captains[record.team]} "
                        "too: a team has one",
                    )
                )
            captains.setdefault(record.team, line)
        elif isinstance(record, MobileMember):
            first, street = mobile.setdefault(record.mobile_grid, (line, record.street_code))
            if street != record.street_code:
                problems.append(
                    (
                        line,
                        f"mobile grid {record.mobile_grid} is in street {street} on line "
                        f"{first}: a mobile grid serves one street",
                    )
                )
            if record.role == "leader":
                if record.mobile_grid in leaders:
                    problems.append(
                        (
                            line,
                            f"mobile grid {record.mobile_grid} has a leader on line "
                            f"{leaders[record.mobile_grid]} too: it has one",
                        )
                    )
                leaders.setdefault(record.mobile_grid, line)
    problems.extend(
        (line, f"mobile grid {name} has no leader (职务 网格长)")
        for name, (line, _) in mobile.items()
        if name not in leaders
    )
    return problems


def parse_row(register: Register, row: dict[str, Any], units: Units) -> Record:
    """One row of ``register``'s file as a record; ValueError naming the bad value."""
    return register.parse(lambda name: table_field(row, register.headers, name), units)
