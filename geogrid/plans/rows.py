"""What the grid table accepts, checked on a plan's layer before it is called valid.

Publishing writes every grid of the plan's layer into ``grid`` (migration 0001) and its people
into the registers (migration 0016): a name, a kind of resident or dedicated, a dedicated unit
name exactly for dedicated grids, a unit type of :data:`~geogrid.plans.params.UNIT_TYPES`,
people with a name and a phone the registers accept (a branch with its secretary), and no text
with NUL (PostgreSQL text cannot hold it). An edit that would break one is refused when
it is added, and a plan whose preview is valid publishes.
"""

from __future__ import annotations

from typing import Any

from geogrid.boundaries.validation import Violation
from geogrid.organisations.records import PHONE
from geogrid.plans.params import UNIT_TYPES

KINDS = ("resident", "dedicated")
_TEXT = (
    "name",
    "dedicated_unit_name",
    "leader_name",
    "leader_phone",
    "party_branch_name",
    "party_secretary_name",
    "party_secretary_phone",
)


def row_violations(
    grids: dict[str, dict[str, Any]], codes: set[str] | None = None
) -> list[Violation]:
    """Every grid of ``grids`` (or of ``codes`` among them) the grid table would refuse."""
    found = []
    for code in sorted(grids if codes is None else codes & set(grids)):
        grid = grids[code]
        for problem in _problems(grid):
            found.append(Violation("grid_attributes", f"grid {code}: {problem}", (code,)))
    return found


def _problems(grid: dict[str, Any]) -> list[str]:
    problems = []
    if not isinstance(grid.get("name"), str):
        problems.append("it needs a name")
    for key in _TEXT:
        value = grid.get(key)
        if isinstance(value, str) and "\x00" in value:
            problems.append(f"{key} holds a NUL character")
    kind = grid.get("kind")
    if kind not in KINDS:
        problems.append(f'kind was "{kind}" but must be one of {list(KINDS)}')
    if (kind == "dedicated") != (grid.get("dedicated_unit_name") is not None):
        problems.append(
            "a dedicated grid, and only a dedicated grid, names its unit "
            "(carve dedicated grids; a drawing does not make one)"
        )
    unit_type = grid.get("dedicated_unit_type")
    if unit_type is not None and unit_type not in UNIT_TYPES:
        problems.append(
            f'dedicated_unit_type was "{unit_type}" but must be one of {list(UNIT_TYPES)}'
        )
    for person in ("leader", "party_secretary"):
        name, phone = grid.get(f"{person}_name"), grid.get(f"{person}_phone")
        if (name is None) != (phone is None):
            problems.append(f"{person} needs both a name and a phone (the registers keep both)")
        elif phone is not None and not PHONE.fullmatch(str(phone)):
            problems.append(
                f'{person}_phone was "{phone}" but must be an 11-digit mobile or a landline '
                "such as 0551-12345678"
            )
    if (grid.get("party_branch_name") is None) != (grid.get("party_secretary_name") is None):
        problems.append("a party branch and its secretary go together (the branches register)")
    return problems
