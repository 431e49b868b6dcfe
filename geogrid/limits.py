"""What geogrid accepts: the bounded types every input is checked against.

One place says how long a text may be, which characters it may hold, how large a number may
be, how deep a JSON document may nest. The request models and query parameters of the API, the
case report and the plan edits all use these types, so what is accepted is also what the
database stores (PostgreSQL text holds no NUL; ``integer`` and ``bigint`` have ranges; a phone
number has the grid table's CHECK pattern) and the OpenAPI document shows every bound.

- :class:`Text` — at most ``max_length`` characters, no control characters (a multi-line text
  may hold tab, line feed and carriage return), no unpaired surrogates; named uses of it:
  :data:`Word`, :data:`Name`, :data:`Title`, :data:`Address`, :data:`Comment`, :data:`Note`;
- :data:`Int64`, :data:`Id`, :data:`Id32` — integers a ``bigint`` or ``integer`` column holds;
- :data:`Finite`, :data:`Longitude`, :data:`Latitude` — floats that are numbers (no inf, NaN);
- :data:`Phone` — the phone numbers the database accepts;
- :func:`check_text`, :func:`check_phone` — the same rules for values that come as plain data
  (stored plan edits, form fields);
- :func:`check_json` — a parsed JSON document of bounded depth, finite numbers, clean text.

The limits themselves are in characters; docs/architecture.md ("Bounds") lists them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from annotated_types import GroupedMetadata, Interval, MaxLen, MinLen
from pydantic import AllowInfNan, GetCoreSchemaHandler, GetJsonSchemaHandler, StringConstraints
from pydantic.json_schema import JsonSchemaValue, WithJsonSchema
from pydantic_core import PydanticCustomError, core_schema

from geogrid.errors import InvalidInputError
from geogrid.i18n import tr

#: A code, a kind, a format, a crs name, a cursor: one short word.
WORD = 64
#: A person's name.
NAME = 50
#: The name of a grid, a unit, a party branch.
TITLE = 100
#: An address.
ADDRESS = 200
#: A comment on a plan or an edit.
COMMENT = 2000
#: A case description, a transition note, a re-routing reason.
NOTE = 4000
#: A URL (a photo).
URL = 2000
#: How deep a JSON body may nest (a GeoJSON FeatureCollection of MultiPolygons needs 8).
JSON_DEPTH = 32

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)

#: Characters no text may hold: C0 and C1 controls, DEL, unpaired surrogates. Multi-line text
#: may hold tab, line feed and carriage return.
_CONTROLS = {
    True: "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f",
    False: "\\u0000-\\u001f\\u007f-\\u009f",
}
_SURROGATES = "\\ud800-\\udfff"
# The OpenAPI pattern names the controls only: JSON Schema validators (Rust's regex) cannot
# express surrogates, and valid Unicode text holds none.
_PATTERNS = {multiline: f"^[^{c}]*$" for multiline, c in _CONTROLS.items()}
_BAD = {multiline: re.compile(f"[{c}{_SURROGATES}]") for multiline, c in _CONTROLS.items()}
_MULTILINE = (
    "must not hold control characters other than tab, line feed and carriage return; "
    "found {char} at character {position}"
)
_LINE = "must be one line without control characters; found {char} at character {position}"


def forbidden_character(value: str, multiline: bool = False) -> tuple[int, str] | None:
    """The first character ``value`` may not hold, with its position (from 1), or None.

    Examples
    --------
    >>> forbidden_character("ok\\tfine", multiline=True)
    >>> forbidden_character("a\\x00b")
    (2, 'U+0000')
    >>> forbidden_character("two\\nlines")
    (4, 'U+000A')
    """
    found = _BAD[multiline].search(value)
    if found is None:
        return None
    return found.start() + 1, f"U+{ord(found.group()):04X}"


@dataclass(frozen=True)
class _Printable:
    """Pydantic metadata: refuse control characters; the OpenAPI shows it as a pattern."""

    multiline: bool

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        found = handler(schema)
        found["pattern"] = _PATTERNS[self.multiline]
        return found

    def _check(self, value: str) -> str:
        bad = forbidden_character(value, self.multiline)
        if bad is not None:
            raise PydanticCustomError(
                "control_character",
                _MULTILINE if self.multiline else _LINE,
                {"char": bad[1], "position": bad[0]},
            )
        return value


@dataclass(frozen=True)
class Text(GroupedMetadata):
    """Metadata: text of ``min_length``..``max_length`` characters without control characters.

    ``Annotated[str, Text(50)]``. A multi-line text (a description, a note) may hold tab, line
    feed and carriage return; any other text (a name, a code, an address) holds none.

    Examples
    --------
    >>> from pydantic import TypeAdapter
    >>> TypeAdapter(Annotated[str, Text(5)]).validate_python("abc")
    'abc'
    >>> TypeAdapter(Annotated[str, Text(5)]).validate_python("a\\x00")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    pydantic_core._pydantic_core.ValidationError: 1 validation error for ...
    """

    max_length: int
    min_length: int = 0
    multiline: bool = False

    def __iter__(self) -> Iterator[object]:
        if self.min_length:
            yield MinLen(self.min_length)
        yield MaxLen(self.max_length)
        yield _Printable(self.multiline)


#: One short word: a code, a kind, a format, a crs name, a cursor.
Word = Annotated[str, Text(WORD)]
#: A person's name.
Name = Annotated[str, Text(NAME)]
#: The name of a grid, a unit, a party branch.
Title = Annotated[str, Text(TITLE)]
#: An address.
Address = Annotated[str, Text(ADDRESS)]
#: A comment on a plan or an edit (several lines).
Comment = Annotated[str, Text(COMMENT, multiline=True)]
#: A description, note or reason (several lines).
Note = Annotated[str, Text(NOTE, multiline=True)]
#: Words separated by commas (station kinds).
Kinds = Annotated[str, Text(10 * WORD)]
#: An ``Idempotency-Key`` header (stored with the case it created).
IdempotencyKey = Annotated[str, Text(200, min_length=1)]

#: An integer a PostgreSQL ``bigint`` holds.
Int64 = Annotated[int, Interval(ge=INT64_MIN, le=INT64_MAX)]
#: A row id of a ``bigint`` identity (cases, compounds, stations).
Id = Annotated[int, Interval(ge=1, le=INT64_MAX)]
#: A row id of an ``integer`` identity (boundary releases, plans, plan edits).
Id32 = Annotated[int, Interval(ge=1, le=INT32_MAX)]

#: A float that is a number: JSON's 1e400 (inf) and NaN are refused.
Finite = Annotated[float, AllowInfNan(False)]
#: Degrees. The range is documented here and checked by geogrid.geo.points, whose message
#: says when lon and lat look swapped.
Longitude = Annotated[
    float, AllowInfNan(False), WithJsonSchema({"type": "number", "minimum": -180, "maximum": 180})
]
Latitude = Annotated[
    float, AllowInfNan(False), WithJsonSchema({"type": "number", "minimum": -90, "maximum": 90})
]

#: The phone numbers the database accepts (the grid table's CHECK, migration 0001).
PHONE_PATTERN = r"^[0-9+() -]{5,20}$"
Phone = Annotated[str, StringConstraints(max_length=20, pattern=PHONE_PATTERN)]


def check_phone(name: str, value: str | None) -> str | None:
    """``value`` when it is a phone number the database accepts (None passes).

    Examples
    --------
    >>> check_phone("phone", "138 1234 0000")
    '138 1234 0000'
    >>> check_phone("leader.phone", "abc")
    Traceback (most recent call last):
    geogrid.errors.InvalidInputError: leader.phone was "abc" but must be 5 to 20 digits, \
spaces, +, - or parentheses
    """
    if value is None or re.fullmatch(PHONE_PATTERN, value):
        return value
    raise InvalidInputError(
        tr(
            '{name} was "{value}" but must be 5 to 20 digits, spaces, +, - or parentheses',
            name=name,
            value=value,
        )
    )


def check_text(
    name: str, value: str, max_length: int, *, multiline: bool = False, required: bool = False
) -> str:
    """``value`` when it is text ``Text(max_length)`` accepts; else InvalidInputError.

    For values that come as plain data (an edit's stored parameters, an imported row).
    """
    if required and not value.strip():
        raise InvalidInputError(tr("{name} is required", name=name))
    if len(value) > max_length:
        raise InvalidInputError(
            tr(
                "{name} has {length} characters; at most {max_length}",
                name=name,
                length=len(value),
                max_length=max_length,
            )
        )
    bad = forbidden_character(value, multiline)
    if bad is not None:
        raise InvalidInputError(
            tr(
                "{name} must not hold control characters; found {char} at character {position}",
                name=name,
                char=bad[1],
                position=bad[0],
            )
        )
    return value


def ascii_digits(text: str) -> bool:
    """Whether ``text`` is one or more of 0-9 (``str.isdigit`` also takes ², ٣ and others,
    which ``int`` then refuses or a code column does not hold).

    >>> ascii_digits("340102"), ascii_digits("²"), ascii_digits("٣"), ascii_digits("")
    (True, False, False, False)
    """
    return text.isascii() and text.isdigit()


def _path(parts: tuple[str | int, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".")


def check_json(
    value: Any, *, depth: int = JSON_DEPTH, name: str = "the body", check_text_of: bool = True
) -> Any:
    """``value`` (parsed JSON) when it nests at most ``depth`` deep, every number is finite and
    every string free of control characters (except tab, line feed and carriage return).

    Walks without recursion, so a document nested 100,000 deep is refused, not a
    RecursionError.

    Examples
    --------
    >>> check_json({"a": [1, 2.5, "x"]})
    {'a': [1, 2.5, 'x']}
    >>> check_json([[[1]]], depth=2)
    Traceback (most recent call last):
    geogrid.errors.InvalidInputError: the body nests deeper than 2 levels (at [0][0])
    >>> check_json({"area": {"coordinates": [1.0, float("inf")]}})
    Traceback (most recent call last):
    geogrid.errors.InvalidInputError: area.coordinates[1] was inf but numbers must be finite
    """
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        item, where = stack.pop()
        if isinstance(item, dict | list):
            if len(where) >= depth:
                raise InvalidInputError(
                    tr(
                        "{name} nests deeper than {depth} levels (at {where})",
                        name=name,
                        depth=depth,
                        where=_path(where),
                    )
                )
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, member in pairs:
                if check_text_of and isinstance(key, str):
                    check_text(_path((*where, key)), key, NOTE)
                stack.append((member, (*where, key)))
        elif isinstance(item, float) and not math.isfinite(item):
            raise InvalidInputError(
                tr(
                    "{where} was {value} but numbers must be finite",
                    where=_path(where) or name,
                    value=item,
                )
            )
        elif check_text_of and isinstance(item, str):
            check_text(_path(where) or name, item, 10 * NOTE, multiline=True)
    return value


__all__ = [
    "ADDRESS",
    "COMMENT",
    "INT32_MAX",
    "INT64_MAX",
    "INT64_MIN",
    "JSON_DEPTH",
    "NAME",
    "NOTE",
    "PHONE_PATTERN",
    "TITLE",
    "URL",
    "WORD",
    "Address",
    "Comment",
    "Finite",
    "Id",
    "Id32",
    "IdempotencyKey",
    "Int64",
    "Kinds",
    "Latitude",
    "Longitude",
    "Name",
    "Note",
    "Phone",
    "Text",
    "Title",
    "Word",
    "ascii_digits",
    "check_json",
    "check_phone",
    "check_text",
    "forbidden_character",
]
