"""The life of a case as a state machine: which moves are legal, and what "open" means.

上报 reported → 立案 accepted → 派遣 dispatched → 处置 in_progress → 反馈 handled → 核查 verified
→ 结案 closed, plus 作废 void (before any work is done) and 挂账 on_hold, which returns to the
status it was put on hold from. A check that fails (核查不通过) sends a handled case back to
in_progress. closed and void are final.
"""

from __future__ import annotations

from geogrid.errors import ConflictError, InvalidInputError
from geogrid.i18n import tr

STATUSES = (
    "reported",
    "accepted",
    "dispatched",
    "in_progress",
    "handled",
    "verified",
    "closed",
    "void",
    "on_hold",
)
STATUS_ZH = {
    "reported": "上报",
    "accepted": "立案",
    "dispatched": "派遣",
    "in_progress": "处置",
    "handled": "反馈",
    "verified": "核查",
    "closed": "结案",
    "void": "作废",
    "on_hold": "挂账",
}
FINAL = frozenset({"closed", "void"})
#: Before dispatch a case follows its location when boundaries change; after, it keeps its grid.
UNDISPATCHED = frozenset({"reported", "accepted"})

#: Legal moves from each status except on_hold (which returns to where it came from, or void).
MOVES: dict[str, frozenset[str]] = {
    "reported": frozenset({"accepted", "void"}),
    "accepted": frozenset({"dispatched", "on_hold", "void"}),
    "dispatched": frozenset({"in_progress", "on_hold", "void"}),
    "in_progress": frozenset({"handled", "on_hold"}),
    "handled": frozenset({"verified", "in_progress"}),
    "verified": frozenset({"closed"}),
    "closed": frozenset(),
    "void": frozenset(),
}


def legal_moves(status: str, held_from: str | None = None) -> frozenset[str]:
    """Statuses a case in ``status`` may move to.

    Examples
    --------
    >>> sorted(legal_moves("reported"))
    ['accepted', 'void']
    >>> sorted(legal_moves("on_hold", held_from="dispatched"))
    ['dispatched', 'void']
    """
    if status == "on_hold":
        return frozenset({held_from or "accepted", "void"})
    return MOVES[status]


def needs_note(status: str, to: str) -> bool:
    """Whether moving a ``status`` case to ``to`` must say why: voiding it, putting it on hold,
    or failing its check (核查不通过: handled back to in_progress).

    Examples
    --------
    >>> needs_note("accepted", "on_hold"), needs_note("handled", "in_progress")
    (True, True)
    >>> needs_note("handled", "verified")
    False
    """
    return to in ("void", "on_hold") or (status == "handled" and to == "in_progress")


def check_move(status: str, to: str, held_from: str | None = None) -> None:
    """Raise unless a case in ``status`` may move to ``to``.

    Raises
    ------
    InvalidInputError
        ``to`` is not a status at all (422).
    ConflictError
        ``to`` is a status, but not one this case may move to now (409).

    Examples
    --------
    >>> check_move("accepted", "dispatched")
    >>> try:
    ...     check_move("reported", "closed")
    ... except ConflictError as exc:
    ...     print(exc)
    a reported case cannot move to closed; it may move to ['accepted', 'void']
    """
    if to not in STATUSES:
        raise InvalidInputError(
            tr('to was "{to}" but must be one of {STATUSES}', to=to, STATUSES=list(STATUSES)),
        )
    allowed = legal_moves(status, held_from)
    if to not in allowed:
        raise ConflictError(
            tr(
                "a {status} case cannot move to {to}; it may move to {allowed}",
                status=status,
                to=to,
                allowed=sorted(allowed),
                status_zh=STATUS_ZH[status],
                to_zh=STATUS_ZH[to],
                allowed_zh=[STATUS_ZH[s] for s in sorted(allowed)],
            ),
            details={"status": status, "to": to, "allowed": sorted(allowed)},
        )
