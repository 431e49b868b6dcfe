"""The records of the registers: who serves, in which role, tied to which grid, compound,
community or street; each masks its people for viewers (geogrid.access.roles)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from geogrid.boundaries.grids import Person

#: An 11-digit mainland mobile number, or a landline with its area code (0551-12345678).
PHONE = re.compile(r"1[3-9][0-9]{9}|0[0-9]{2,3}-[0-9]{7,8}")
#: 网格长, 专职网格员, 兼职网格员.
STAFF_ROLES = {"网格长": "leader", "专职网格员": "full_time", "兼职网格员": "part_time"}
#: 小巷管家 teams: a captain (队长) and members (队员).
VOLUNTEER_ROLES = {"队长": "captain", "队员": "member"}
#: 政法网格员: police, prosecutors, judges, mediators, lawyers.
LAW_ROLES = {
    "民警": "police",
    "社区民警": "police",
    "检察官": "prosecutor",
    "法官": "judge",
    "调解员": "mediator",
    "人民调解员": "mediator",
    "律师": "lawyer",
    "其他": "other",
}
#: 协商议事平台 kinds.
PLATFORM_KINDS = {
    "网格共治委员会": "co_governance",
    "党群议事会": "party_mass_council",
    "红色物业": "red_property",
    "和事佬": "peacemaker",
    "其他": "other",
}
#: 流动网格: its leader (网格长) and members (成员).
MOBILE_ROLES = {"网格长": "leader", "成员": "member"}
OCCUPATIONS = {"快递员": "courier", "外卖骑手": "rider", "网约车司机": "driver", "其他": "other"}


@dataclass(frozen=True)
class StaffMember:
    """A grid's 网格长 (leader), 专职网格员 (full_time) or 兼职网格员 (part_time)."""

    grid_code: str
    role: str
    person: Person

    def masked(self) -> StaffMember:
        return replace(self, person=self.person.masked())


@dataclass(frozen=True)
class PartyBranch:
    """A grid party branch (网格党支部) and its secretary; at most one per grid."""

    grid_code: str
    name: str
    secretary: Person

    def masked(self) -> PartyBranch:
        return replace(self, secretary=self.secretary.masked())


@dataclass(frozen=True)
class BuildingGroup:
    """A building party group (楼栋党小组) of a compound, optionally of one building."""

    compound_id: int
    building: str
    name: str
    leader: Person

    def masked(self) -> BuildingGroup:
        return replace(self, leader=self.leader.masked())


@dataclass(frozen=True)
class PartyHousehold:
    """A party-member household (党员中心户): never shown to viewers at all, so it has no
    masked form; whoever shows it asks the principal first."""

    compound_id: int
    building: str
    group_name: str
    person: Person


@dataclass(frozen=True)
class VolunteerMember:
    """A 小巷管家 volunteer: a team's captain or member."""

    team: str
    role: str
    person: Person
    #: the compounds this row names for its team (a team covers the union of its rows')
    compound_ids: tuple[int, ...] = ()

    def masked(self) -> VolunteerMember:
        return replace(self, person=self.person.masked())


@dataclass(frozen=True)
class VolunteerTeam:
    """A 小巷管家 volunteer team: its members and the compounds it covers."""

    name: str
    compound_ids: tuple[int, ...]
    members: tuple[VolunteerMember, ...]

    def masked(self) -> VolunteerTeam:
        return replace(self, members=tuple(m.masked() for m in self.members))


@dataclass(frozen=True)
class LawMember:
    """A politics-and-law grid member (政法网格员) and the communities they serve."""

    role: str
    unit: str
    community_codes: tuple[str, ...]
    person: Person

    def masked(self) -> LawMember:
        return replace(self, person=self.person.masked())


@dataclass(frozen=True)
class Platform:
    """A consultation platform (协商议事平台) and the grids it serves (a grid may have several)."""

    name: str
    kind: str
    grid_codes: tuple[str, ...]
    convener: Person

    def masked(self) -> Platform:
        return replace(self, convener=self.convener.masked())


@dataclass(frozen=True)
class MobileMember:
    """A member of a mobile grid (流动网格) — a courier, rider or driver — or its leader."""

    mobile_grid: str
    street_code: str
    role: str
    occupation: str
    party_member: bool
    person: Person

    def masked(self) -> MobileMember:
        return replace(self, person=self.person.masked())


Record = (
    StaffMember
    | PartyBranch
    | BuildingGroup
    | PartyHousehold
    | VolunteerMember
    | LawMember
    | Platform
    | MobileMember
)
