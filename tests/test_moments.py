"""Moments clients send: ISO 8601, Asia/Shanghai without an offset, 1900-01-01..2100-12-31."""

from __future__ import annotations

from datetime import date

import pytest

from geogrid.errors import InvalidInputError
from geogrid.moments import in_range, parse_moment


@pytest.mark.parametrize(
    "text",
    ["1900-01-01T00:00", "2100-12-31T23:59:59", "2100-12-31T15:59:59Z", "1899-12-31T17:00Z"],
)
def test_the_first_and_last_days_are_accepted(text: str) -> None:
    assert parse_moment(text).tzinfo is not None


@pytest.mark.parametrize(
    "text",
    [
        "1899-12-31T23:59",
        "2101-01-01T00:00",
        "2100-12-31T16:00Z",  # 2101-01-01T00:00+08:00
        "9999-12-31T23:00-12:00",  # past year 9999 in Asia/Shanghai
        "0001-01-01T00:00+14:00",  # before year 1 in Asia/Shanghai
    ],
)
def test_moments_outside_the_range_are_refused_naming_it(text: str) -> None:
    with pytest.raises(InvalidInputError, match="1900-01-01 and 2100-12-31") as caught:
        parse_moment(text, "at")
    assert caught.value.message.startswith(f'at was "{text}"')
    assert caught.value.message_zh is not None


def test_dates_are_checked_too() -> None:
    assert in_range("to", date(2100, 12, 31), "2100-12-31") == date(2100, 12, 31)
    with pytest.raises(InvalidInputError, match='to was "9999-12-31"'):
        in_range("to", date(9999, 12, 31), "9999-12-31")
