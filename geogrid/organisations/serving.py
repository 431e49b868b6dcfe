"""Who serves each grid — its staff, party branch and consultation platforms — held in memory
with their history, for answers that must not wait for the database: ``/v1/locate`` answers
from a snapshot even while the database is away, and keeps its speed.

Every register row tied to a grid is read once (:func:`load_serving`), with its span; what
served a grid at a moment is picked from them by the one rule of the registers (from
``valid_from`` inclusive to ``valid_to`` exclusive). What serves now is worked out once per
load, full and masked, so an answer attaches a ready value. Writers of the registers
``NOTIFY geogrid_organisations`` (:func:`announce`) and serving processes reload.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from geogrid.boundaries.grids import Person
from geogrid.organisations.records import PartyBranch, Platform, StaffMember

#: The channel writers of the registers notify on, in their transaction.
CHANNEL = "geogrid_organisations"
#: Staff are listed leader first, then full-time, then part-time workers.
_ROLE_ORDER = {"leader": 0, "full_time": 1, "part_time": 2}
NOBODY = Person(None, None)


@dataclass(frozen=True)
class Serving:
    """Who serves one grid at one moment."""

    staff: tuple[StaffMember, ...]
    branch: PartyBranch | None
    platforms: tuple[Platform, ...]

    @property
    def leader(self) -> Person:
        """The grid's 网格长: the earliest-serving one, as the database's ``grid_people``
        view says; nobody when it has none."""
        return next((s.person for s in self.staff if s.role == "leader"), NOBODY)

    def masked(self) -> Serving:
        """The same with every person masked (for viewers)."""
        return Serving(
            tuple(s.masked() for s in self.staff),
            None if self.branch is None else self.branch.masked(),
            tuple(p.masked() for p in self.platforms),
        )

    def as_dict(self) -> dict[str, Any]:
        """The JSON form answers carry (``/v1/locate``'s ``served_by``)."""
        branch = self.branch
        return {
            "staff": [
                {"role": s.role, "name": s.person.name, "phone": s.person.phone} for s in self.staff
            ],
            "party_branch": None
            if branch is None
            else {
                "name": branch.name,
                "secretary": {"name": branch.secretary.name, "phone": branch.secretary.phone},
            },
            "platforms": [
                {
                    "name": p.name,
                    "kind": p.kind,
                    "convener": {"name": p.convener.name, "phone": p.convener.phone},
                }
                for p in self.platforms
            ],
        }


NO_ONE = Serving((), None, ())
_NO_ONE_JSON = NO_ONE.as_dict()
_Span = tuple[datetime, datetime | None]


def _served(span: _Span, moment: datetime) -> bool:
    return span[0] <= moment and (span[1] is None or span[1] > moment)


@dataclass(frozen=True)
class GridServing:
    """Every grid-tied register row with its span, and who serves each grid now."""

    staff: dict[str, list[tuple[_Span, StaffMember]]]
    branches: dict[str, list[tuple[_Span, PartyBranch]]]
    platforms: dict[str, list[tuple[_Span, Platform]]]
    now: dict[str, Serving]
    #: ``now`` in its JSON form, full and masked, worked out once per load
    now_json: dict[str, dict[str, Any]]
    now_json_masked: dict[str, dict[str, Any]]
    #: what :func:`registers_version` said when these rows were read
    version: str = ""

    def at(self, code: str, moment: datetime | None = None) -> Serving:
        """Who served grid ``code`` at ``moment`` (default: now, as last loaded)."""
        if moment is None:
            return self.now.get(code, NO_ONE)
        return _pick(
            moment,
            self.staff.get(code, ()),
            self.branches.get(code, ()),
            self.platforms.get(code, ()),
        )

    def answer(self, code: str, *, masked: bool, moment: datetime | None = None) -> dict[str, Any]:
        """Who serves grid ``code`` (at ``moment``, default now) in its JSON form, masked
        for callers who may not see personal data."""
        if moment is None:
            found = (self.now_json_masked if masked else self.now_json).get(code)
            return _NO_ONE_JSON if found is None else found
        serving = self.at(code, moment)
        return (serving.masked() if masked else serving).as_dict()


def _pick(
    moment: datetime,
    staff: Iterable[tuple[_Span, StaffMember]],
    branches: Iterable[tuple[_Span, PartyBranch]],
    platforms: Iterable[tuple[_Span, Platform]],
) -> Serving:
    serving = [s for span, s in staff if _served(span, moment)]
    branch = next((b for span, b in branches if _served(span, moment)), None)
    return Serving(
        tuple(sorted(serving, key=lambda s: _ROLE_ORDER[s.role])),  # stable: then by start
        branch,
        tuple(p for span, p in platforms if _served(span, moment)),
    )


_VERSION = text(
    "SELECT concat_ws('/', "
    + ", ".join(
        f"(SELECT concat_ws(':', count(*), max(id), count(valid_to)) FROM {table})"
        for table in ("org_grid_staff", "org_party_branch", "org_platform")
    )
    + ")"
)


def registers_version(conn: Connection) -> str:
    """A value that changes whenever a grid-tied register does (a row added or closed): a
    reload can skip the read when it has not (three index-only counts)."""
    return str(conn.execute(_VERSION).scalar_one())


def load_serving(conn: Connection) -> GridServing:
    """Every grid-tied row of the registers (staff, branches, platforms) with its span."""
    version = registers_version(conn)
    staff: dict[str, list[tuple[_Span, StaffMember]]] = {}
    for r in conn.execute(
        text(
            "SELECT grid_code, role, name, phone, valid_from, valid_to FROM org_grid_staff "
            "ORDER BY valid_from, id"
        )
    ):
        code = r.grid_code.strip()
        member = StaffMember(code, r.role, Person(r.name, r.phone))
        staff.setdefault(code, []).append(((r.valid_from, r.valid_to), member))
    branches: dict[str, list[tuple[_Span, PartyBranch]]] = {}
    for r in conn.execute(
        text(
            "SELECT grid_code, name, secretary_name, secretary_phone, valid_from, valid_to "
            "FROM org_party_branch ORDER BY valid_from, id"
        )
    ):
        code = r.grid_code.strip()
        branch = PartyBranch(code, r.name, Person(r.secretary_name, r.secretary_phone))
        branches.setdefault(code, []).append(((r.valid_from, r.valid_to), branch))
    platforms: dict[str, list[tuple[_Span, Platform]]] = {}
    for r in conn.execute(
        text(
            "SELECT name, kind, grid_codes, convener_name, convener_phone, valid_from, "
            "valid_to FROM org_platform ORDER BY valid_from, id"
        )
    ):
        codes = tuple(c.strip() for c in r.grid_codes)
        platform = Platform(r.name, r.kind, codes, Person(r.convener_name, r.convener_phone))
        for code in codes:
            platforms.setdefault(code, []).append(((r.valid_from, r.valid_to), platform))
    moment = conn.execute(text("SELECT now()")).scalar_one()
    now = {
        code: _pick(moment, staff.get(code, ()), branches.get(code, ()), platforms.get(code, ()))
        for code in staff.keys() | branches.keys() | platforms.keys()
    }
    return GridServing(
        staff,
        branches,
        platforms,
        now,
        {code: s.as_dict() for code, s in now.items()},
        {code: s.masked().as_dict() for code, s in now.items()},
        version,
    )


EMPTY = GridServing({}, {}, {}, {}, {}, {})


def announce(conn: Connection) -> None:
    """Tell serving processes, when the transaction commits, that the registers changed."""
    conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
