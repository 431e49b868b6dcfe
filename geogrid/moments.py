"""Moments clients send (``at=``, date filters): ISO 8601, Asia/Shanghai when no offset."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from geogrid.errors import InvalidInputError
from geogrid.i18n import tr

LOCAL = ZoneInfo("Asia/Shanghai")


def parse_moment(value: str) -> datetime:
    """An aware datetime from ISO 8601 text; no offset means Asia/Shanghai.

    Examples
    --------
    >>> parse_moment("2026-01-02T08:00").isoformat()
    '2026-01-02T08:00:00+08:00'
    >>> parse_moment("2026-01-02T00:00Z").isoformat()
    '2026-01-02T00:00:00+00:00'
    """
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(
            tr(
                'at was "{value}" but must be an ISO 8601 date or time, e.g. '
                "2026-05-01 or 2026-05-01T09:30 (Asia/Shanghai) or 2026-05-01T01:30Z",
                value=value,
            ),
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=LOCAL)
