"""A register's current rows as the file that loads it: the same columns under their Chinese
headers, roles and kinds in Chinese, several codes in one cell joined by ``;`` — so a
download edited in a spreadsheet and loaded again replaces the register with what it shows
(``geogrid organisations load``, the console's upload)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from geogrid.organisations.files import register_named
from geogrid.organisations.records import (
    LAW_ROLES,
    MOBILE_ROLES,
    OCCUPATIONS,
    PLATFORM_KINDS,
    STAFF_ROLES,
    VOLUNTEER_ROLES,
)


def _chinese(words: dict[str, str]) -> dict[str, str]:
    """Stored word -> the first Chinese word that reads as it."""
    found: dict[str, str] = {}
    for chinese, stored in words.items():
        found.setdefault(stored, chinese)
    return found


_ROLE = {
    "staff": _chinese(STAFF_ROLES),
    "volunteers": _chinese(VOLUNTEER_ROLES),
    "law-members": _chinese(LAW_ROLES),
    "mobile-grids": _chinese(MOBILE_ROLES),
}
_KIND = _chinese(PLATFORM_KINDS)
_OCCUPATION = _chinese(OCCUPATIONS)

#: Each register's current rows, in its file's column order (a constant per register).
_SELECT = {
    "staff": "SELECT grid_code, role, name, phone FROM org_grid_staff",
    "branches": "SELECT grid_code, name, secretary_name, secretary_phone FROM org_party_branch",
    "building-groups": "SELECT compound_id, building, name, leader_name, leader_phone "
    "FROM org_building_group",
    "households": "SELECT compound_id, building, group_name, name, phone FROM org_party_household",
    "law-members": "SELECT role, unit, name, phone, array_to_string(community_codes, ';') "
    "FROM org_law_member",
    "platforms": "SELECT name, kind, array_to_string(grid_codes, ';'), convener_name, "
    "convener_phone FROM org_platform",
    "mobile-grids": "SELECT mobile_grid, street_code, role, occupation, party_member, name, "
    "phone FROM org_mobile_member",
}
#: A team's members, the team's compounds on its first row (a team covers what its rows list).
_VOLUNTEERS = """
SELECT t.name AS team, m.role, m.name, m.phone,
       CASE WHEN row_number() OVER (PARTITION BY t.id ORDER BY m.id) = 1
            THEN array_to_string(t.compound_ids, ';') ELSE '' END AS compounds
FROM org_volunteer_member m JOIN org_volunteer_team t ON t.id = m.team_id
WHERE m.valid_to IS NULL AND t.valid_to IS NULL
ORDER BY t.id, m.id
"""


def _cell(register: str, column: str, value: Any) -> str:
    if value is None:
        return ""
    if column == "party_member":
        return "是" if value else "否"
    word = str(value).strip()
    if column == "role":
        return _ROLE[register].get(word, word)
    if column == "kind":
        return _KIND.get(word, word)
    if column == "occupation":
        return _OCCUPATION.get(word, word)
    return word


def register_table(conn: Connection, name: str) -> tuple[list[str], list[list[str]]]:
    """Register ``name``'s current rows as (Chinese headers, rows of text), in the order they
    were loaded; loading them back replaces the register with the same rows.

    Examples
    --------
    >>> register_table(conn, "staff")[0]  # doctest: +SKIP
    ['网格编码', '职务', '姓名', '联系电话']
    """
    register = register_named(name)
    name = register.name
    columns = list(register.headers)
    headers = [register.headers[c][1] for c in columns]
    if name == "volunteers":
        found = conn.execute(text(_VOLUNTEERS)).all()
    else:
        # the statements are constants of this module, never input
        found = conn.execute(text(f"{_SELECT[name]} WHERE valid_to IS NULL ORDER BY id")).all()
    rows = [[_cell(name, c, v) for c, v in zip(columns, row, strict=True)] for row in found]
    return headers, rows
