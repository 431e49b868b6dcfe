"""Late entry (补录): a report or a step that happened earlier than it is entered.

A hotline keeps taking calls when the system is down, and a paper register is entered when it
is back; a case handed over by another platform arrives with the times it already has. Such an
entry carries the moment it happened, and every deadline counts from that moment, as if it had
been entered then. It is off unless a district turns it on (``GEOGRID_LATE_ENTRY_DAYS``, how
far back an entry may go), it may never be in the future nor before the case's previous step,
and the event records that it was entered late and when.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from geogrid.errors import InvalidInputError
from geogrid.i18n import tr
from geogrid.settings import CaseSettings


def entry_time(
    now: datetime, at: datetime | None, earliest: datetime | None, settings: CaseSettings
) -> datetime:
    """When a report or step is recorded as having happened: ``now``, or ``at`` when entered
    late.

    Raises
    ------
    InvalidInputError
        ``at`` without a UTC offset, late entry turned off, ``at`` in the future, further back
        than the setting allows, or before ``earliest`` (the case's previous step) (422).
    """
    if at is None:
        return now
    if at.tzinfo is None:
        raise InvalidInputError(
            tr("a late entry's time needs its UTC offset, such as 2025-09-30T17:30:00+08:00")
        )
    if settings.late_entry_days <= 0:
        raise InvalidInputError(
            tr(
                "late entry (补录) is turned off here: GEOGRID_LATE_ENTRY_DAYS sets how many days "
                "back a report or step may be dated"
            )
        )
    if at > now:
        raise InvalidInputError(tr("a late entry's time {at} is in the future", at=at.isoformat()))
    if at < now - timedelta(days=settings.late_entry_days):
        raise InvalidInputError(
            tr(
                "a late entry's time {at} is more than {days} days back (GEOGRID_LATE_ENTRY_DAYS)",
                at=at.isoformat(),
                days=f"{settings.late_entry_days:g}",
            )
        )
    if earliest is not None and at < earliest:
        raise InvalidInputError(
            tr(
                "a late entry's time {at} is before the case's previous step at {earliest}",
                at=at.isoformat(),
                earliest=earliest.isoformat(),
            )
        )
    return at
