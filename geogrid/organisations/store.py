"""Storing a register: the rows that served until now are closed (``valid_to = now()``) and
the new ones inserted (``valid_from = now()``) in the caller's transaction, so a register is
replaced whole and ``at=`` still answers who served before (migration 0016)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, text

from geogrid.boundaries.grids import Person
from geogrid.organisations.records import (
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
from geogrid.organisations.serving import announce

#: The tables each register keeps, the order they are closed in.
TABLES = {
    "staff": ("org_grid_staff",),
    "branches": ("org_party_branch",),
    "building-groups": ("org_building_group",),
    "households": ("org_party_household",),
    "volunteers": ("org_volunteer_member", "org_volunteer_team"),
    "law-members": ("org_law_member",),
    "platforms": ("org_platform",),
    "mobile-grids": ("org_mobile_member",),
}
_INSERT = {
    StaffMember: "INSERT INTO org_grid_staff (grid_code, role, name, phone) "
    "VALUES (:grid_code, :role, :name, :phone)",
    PartyBranch: "INSERT INTO org_party_branch (grid_code, name, secretary_name, secretary_phone) "
    "VALUES (:grid_code, :name, :person_name, :person_phone)",
    BuildingGroup: "INSERT INTO org_building_group "
    "(compound_id, building, name, leader_name, leader_phone) "
    "VALUES (:compound_id, :building, :name, :person_name, :person_phone)",
    PartyHousehold: "INSERT INTO org_party_household "
    "(compound_id, building, group_name, name, phone) "
    "VALUES (:compound_id, :building, :group_name, :name, :phone)",
    LawMember: "INSERT INTO org_law_member (role, unit, community_codes, name, phone) "
    "VALUES (:role, :unit, CAST(:community_codes AS char(12)[]), :name, :phone)",
    Platform: "INSERT INTO org_platform (name, kind, grid_codes, convener_name, convener_phone) "
    "VALUES (:name, :kind, CAST(:grid_codes AS char(15)[]), :person_name, :person_phone)",
    MobileMember: "INSERT INTO org_mobile_member "
    "(mobile_grid, street_code, role, occupation, party_member, name, phone) "
    "VALUES (:mobile_grid, :street_code, :role, :occupation, :party_member, :name, :phone)",
}


def _values(record: Record) -> dict[str, Any]:
    values = {k: v for k, v in vars(record).items() if not hasattr(v, "masked")}
    person = next(v for v in vars(record).values() if hasattr(v, "masked"))
    for key in ("community_codes", "grid_codes", "compound_ids"):
        if key in values:
            values[key] = list(values[key])
    # a record's own person is name/phone; a branch's secretary, a group's leader, a
    # platform's convener are the other columns
    return {**values, "name": values.get("name", person.name), "phone": person.phone} | {
        "person_name": person.name,
        "person_phone": person.phone,
    }


def replace_register(conn: Connection, register: str, records: Sequence[Record]) -> int:
    """Close ``register``'s current rows and insert ``records``; returns how many records.
    Serving processes hear of it when the transaction commits."""
    announce(conn)
    for table in TABLES[register]:
        # the table names are the constants above, never input
        conn.execute(text(f"UPDATE {table} SET valid_to = now() WHERE valid_to IS NULL"))
    if register == "volunteers":
        _insert_volunteers(conn, [r for r in records if isinstance(r, VolunteerMember)])
        return len(records)
    by_kind: dict[type, list[dict[str, Any]]] = {}
    for record in records:
        by_kind.setdefault(type(record), []).append(_values(record))
    for kind, rows in by_kind.items():
        conn.execute(text(_INSERT[kind]), rows)
    return len(records)


def _insert_volunteers(conn: Connection, members: Sequence[VolunteerMember]) -> None:
    """Teams (each covering the union of the compounds its rows name) and their members."""
    teams: dict[str, set[int]] = {}
    for member in members:
        teams.setdefault(member.team, set()).update(member.compound_ids)
    ids: dict[str, int] = {}
    for name, compounds in teams.items():
        ids[name] = conn.execute(
            text(
                "INSERT INTO org_volunteer_team (name, compound_ids) "
                "VALUES (:name, :compounds) RETURNING id"
            ),
            {"name": name, "compounds": sorted(compounds)},
        ).scalar_one()
    if members:
        conn.execute(
            text(
                "INSERT INTO org_volunteer_member (team_id, role, name, phone) "
                "VALUES (:team, :role, :name, :phone)"
            ),
            [
                {
                    "team": ids[m.team],
                    "role": m.role,
                    "name": m.person.name,
                    "phone": m.person.phone,
                }
                for m in members
            ],
        )


def current_rows(conn: Connection, register: str) -> int:
    """How many rows of ``register`` serve now."""
    table = TABLES[register][-1]  # a constant above, never input
    found = conn.execute(text(f"SELECT count(*) FROM {table} WHERE valid_to IS NULL"))
    return int(found.scalar_one())


def assign_leader(conn: Connection, grid_code: str, leader: Person | None) -> None:
    """Make ``leader`` grid ``grid_code``'s 网格长 from now (nobody: None), closing the
    leaders serving until now — a plan's ``reassign`` edit, published."""
    conn.execute(
        text(
            "UPDATE org_grid_staff SET valid_to = now() "
            "WHERE grid_code = :g AND role = 'leader' AND valid_to IS NULL"
        ),
        {"g": grid_code},
    )
    if leader is not None and leader.name:
        conn.execute(
            text(
                "INSERT INTO org_grid_staff (grid_code, role, name, phone) "
                "VALUES (:g, 'leader', :name, :phone)"
            ),
            {"g": grid_code, "name": leader.name, "phone": leader.phone},
        )
    announce(conn)


def assign_branch(
    conn: Connection, grid_code: str, name: str | None, secretary: Person | None
) -> None:
    """Make grid ``grid_code``'s party branch ``name`` with ``secretary`` from now (no
    branch: ``name`` None), closing the branch serving until now."""
    conn.execute(
        text(
            "UPDATE org_party_branch SET valid_to = now() WHERE grid_code = :g AND valid_to IS NULL"
        ),
        {"g": grid_code},
    )
    if name and secretary is not None:
        conn.execute(
            text(
                "INSERT INTO org_party_branch (grid_code, name, secretary_name, secretary_phone) "
                "VALUES (:g, :name, :sname, :sphone)"
            ),
            {"g": grid_code, "name": name, "sname": secretary.name, "sphone": secretary.phone},
        )
    announce(conn)
