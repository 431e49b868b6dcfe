"""Loading a register from a file: CSV (UTF-8, BOM or not) or XLSX, Chinese or English
headers, all or nothing.

Every row is checked first — its grid, compound, community or street must exist, its phone
must be a mainland mobile or a landline, and the same person (name and phone) may appear once
in a register — and one bad row loads nothing: the error names every bad row by its line. A
good file replaces the register (geogrid.organisations.store), keeping the old rows as history.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection

from geogrid.errors import InvalidInputError, LoadError
from geogrid.i18n import tr
from geogrid.organisations.records import Record
from geogrid.organisations.registers import (
    REGISTERS,
    Register,
    known_units,
    parse_row,
    whole_file_problems,
)
from geogrid.organisations.store import replace_register
from geogrid.responsibility import read_table, refuse_rows


def register_named(name: str) -> Register:
    """The register called ``name``; InvalidInputError naming the registers otherwise."""
    found = REGISTERS.get(name.strip().lower())
    if found is None:
        raise InvalidInputError(
            tr(
                'register was "{name}" but must be one of {registers}',
                name=name[:40],
                registers=list(REGISTERS),
            )
        )
    return found


def read_register(conn: Connection, name: str, path: Path) -> list[Record]:
    """The records ``path`` lists for register ``name``; LoadError naming every bad row."""
    register = register_named(name)
    units = known_units(conn)
    found: list[tuple[int, Record]] = []
    refused: list[tuple[int, str]] = []
    seen: dict[tuple[str | None, str | None], int] = {}
    rows = read_table(path)
    if not rows:
        raise LoadError(tr("{name} has no rows; a register is replaced whole", name=path.name))
    for line, row in enumerate(rows, start=2):
        try:
            record = parse_row(register, row, units)
            person = register.person(record)
            key = (person.name, person.phone)
            if person.name is not None and key in seen:
                raise ValueError(
                    f"{person.name} ({person.phone}) is on line {seen[key]} too: "
                    "the same person twice in one register"
                )
        except ValueError as exc:
            refused.append((line, str(exc)))
            continue
        seen.setdefault(key, line)
        found.append((line, record))
    refused.extend(whole_file_problems(found))
    refuse_rows(path, sorted(refused))
    return [record for _, record in found]


def load_register(conn: Connection, name: str, path: Path) -> int:
    """Replace register ``name`` with ``path``'s rows, all or nothing; returns how many."""
    records = read_register(conn, name, path)
    return replace_register(conn, register_named(name).name, records)
