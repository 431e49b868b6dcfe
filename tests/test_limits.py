"""The bounded types every input is checked against (geogrid/limits.py)."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from geogrid.errors import InvalidInputError
from geogrid.limits import (
    INT64_MAX,
    Finite,
    Id,
    Id32,
    Int64,
    Note,
    Phone,
    Text,
    Word,
    check_json,
    check_phone,
    check_text,
)


@pytest.mark.parametrize(
    "value, position, char",
    [
        ("\x00", 1, "U+0000"),
        ("ab\x07", 3, "U+0007"),
        ("tab\there", 4, "U+0009"),
        ("two\nlines", 4, "U+000A"),
        ("del\x7f", 4, "U+007F"),
        ("c1\x85", 3, "U+0085"),
    ],
)
def test_one_line_text_refuses_control_characters_naming_them(
    value: str, position: int, char: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(Word).validate_python(value)
    [error] = caught.value.errors()
    assert error["type"] == "control_character"
    assert f"{char} at character {position}" in error["msg"]


def test_unpaired_surrogates_are_refused() -> None:
    # pydantic refuses them before our check (string_unicode); ours is the same rule in JSON.
    with pytest.raises(ValidationError):
        TypeAdapter(Word).validate_python("half\ud800")
    with pytest.raises(InvalidInputError, match="U\\+D800"):
        check_json({"name": "half\ud800"})


def test_multiline_text_keeps_tab_newline_and_return_only() -> None:
    note = TypeAdapter(Note)
    assert note.validate_python("第一行\r\n第二行\t完") == "第一行\r\n第二行\t完"
    for bad in ("a\x00", "a\x0b", "a\x1b[31m", "a\udfff"):
        with pytest.raises(ValidationError):
            note.validate_python(bad)


def test_text_lengths_are_bounded_and_documented() -> None:
    bounded = TypeAdapter(Annotated[str, Text(5, min_length=1)])
    assert bounded.validate_python("12345") == "12345"
    for bad in ("", "123456"):
        with pytest.raises(ValidationError):
            bounded.validate_python(bad)
    schema = bounded.json_schema()
    assert schema["maxLength"] == 5 and schema["minLength"] == 1
    assert schema["pattern"].startswith("^[^\\u0000")


@pytest.mark.parametrize(
    "kind, good, bad",
    [
        (Int64, [-(2**63), 2**63 - 1], [2**63, -(2**63) - 1, 10**20]),
        (Id, [1, INT64_MAX], [0, 2**63]),
        (Id32, [1, 2**31 - 1], [0, 2**31]),
    ],
)
def test_integers_stay_within_their_column(kind: Any, good: list[int], bad: list[int]) -> None:
    adapter = TypeAdapter(kind)
    for value in good:
        assert adapter.validate_python(value) == value
    for value in bad:
        with pytest.raises(ValidationError):
            adapter.validate_python(value)
    assert "maximum" in adapter.json_schema()


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan"), "1e400"])
def test_finite_refuses_what_is_no_number(value: Any) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(Finite).validate_python(value)


def test_phone_is_the_grid_tables_check() -> None:
    class Person(BaseModel):
        phone: Phone

    assert Person(phone="(0551) 6234-5678").phone == "(0551) 6234-5678"
    for bad in ("abc", "1234", "1" * 21, "138\x000000000"):
        with pytest.raises(ValidationError):
            Person(phone=bad)
    assert check_phone("leader.phone", None) is None
    with pytest.raises(InvalidInputError, match=r"leader\.phone"):
        check_phone("leader.phone", "abc")


def test_check_text_names_the_field() -> None:
    assert check_text("name", "网格", 10) == "网格"
    with pytest.raises(InvalidInputError, match="name has 11 characters; at most 10"):
        check_text("name", "x" * 11, 10)
    with pytest.raises(InvalidInputError, match="comment must not hold control"):
        check_text("comment", "a\x00", 10, multiline=True)
    with pytest.raises(InvalidInputError, match="name is required"):
        check_text("name", "  ", 10, required=True)


def test_check_json_refuses_deep_nesting_without_recursion() -> None:
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(InvalidInputError, match="nests deeper than 32 levels"):
        check_json({"layer": deep})
    assert check_json({"a": [[[[[1.5]]]]]}) == {"a": [[[[[1.5]]]]]}


@pytest.mark.parametrize(
    "document, where",
    [
        ({"area": {"coordinates": [[[117.3, float("inf")]]]}}, "area.coordinates[0][0][1]"),
        ({"x": float("nan")}, "x"),
        ({"comment": "a\x00"}, "comment"),
        ({"bad\x00key": 1}, "bad\x00key"),
    ],
)
def test_check_json_names_where_it_fails(document: Any, where: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        check_json(document)
    assert where in str(caught.value)
