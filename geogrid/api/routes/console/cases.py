"""/console/cases: the dispatcher's case queue, a case's page with the moves it may take and
its photos, and importing cases from a file.

Everyone signed in sees the queue and the cases, viewers with names and phones masked; moving
and re-routing a case needs handle_cases, importing import_cases, adding a photo either. Every
change goes through the functions the JSON API calls (geogrid.cases.transition, reroute,
import_cases, add_photo).
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection

from geogrid import cases, organisations
from geogrid.access.roles import Permission, Principal
from geogrid.access.sessions import SignedIn
from geogrid.api.deps import CaseSettingsDep, ConnDep, PhotoSettingsDep, SnapshotsDep
from geogrid.api.routes.console.followup_facts import followup_context
from geogrid.api.routes.console.pages import StaffDep, need, page, root
from geogrid.boundaries.grids import list_units
from geogrid.cases import duties, queries
from geogrid.cases.categories import list_categories
from geogrid.cases.lifecycle import STATUS_ZH, STATUSES, legal_moves, needs_note
from geogrid.cases.photos import STAGE_ZH, STAGES
from geogrid.cases.report import CHANNELS
from geogrid.cases.routing import FLAG_ZH
from geogrid.errors import (
    ConflictError,
    GeogridError,
    InvalidInputError,
    LoadError,
    PermissionDeniedError,
    TooLargeError,
    UnsupportedMediaTypeError,
)
from geogrid.i18n import tr
from geogrid.limits import Id, Note, Word
from geogrid.responsibility import get_department

router = APIRouter()
PAGE_SIZE = 50
#: The queue's orders, as the sort select offers them (the first is the default).
SORT_ZH = {
    "-created": "上报时间（新→旧）",
    "created": "上报时间（旧→新）",
    "due": "处置时限（早→晚）",
    "-due": "处置时限（晚→早）",
}
#: Where a file's rows go at most (larger files are for the CLI: geogrid cases import).
IMPORT_SUFFIXES = (".csv", ".xlsx")

Dispatcher = Annotated[SignedIn, Depends(need(Permission.handle_cases))]
#: anyone who may make some move; geogrid.cases.duties says which
Mover = Annotated[SignedIn, Depends(need(*duties.ANY_MOVE))]
Escalator = Annotated[SignedIn, Depends(need(*duties.DUTIES["escalate"].permissions))]
Importer = Annotated[SignedIn, Depends(need(Permission.import_cases))]
Uploader = Annotated[
    SignedIn,
    Depends(
        need(Permission.report_cases, Permission.handle_cases, Permission.handle_department_cases)
    ),
]


@dataclass(frozen=True)
class Queue:
    """The queue's filters, sort and page as the URL carries them (blank means any)."""

    status: str = ""
    street: str = ""
    community: str = ""
    grid: str = ""
    category: str = ""
    overdue: str = ""
    sort: str = "-created"
    page: int = 1
    #: the mobile grid (流动网格) whose member reported the case
    mobile_grid: str = ""

    def case_filter(self) -> queries.CaseFilter:
        return queries.CaseFilter.parse(
            status=self.status or None,
            street=self.street,
            community=self.community,
            grid=self.grid,
            category=self.category,
            overdue=self.overdue or None,
            mobile_grid=self.mobile_grid or None,
        )

    def query(self, **changes: Any) -> str:
        """This queue's query string with ``changes`` (blank and default values left out)."""
        chosen = asdict(replace(self, **changes))
        kept = {
            k: v
            for k, v in chosen.items()
            if v not in ("", None)
            and not (k == "sort" and v == "-created")
            and not (k == "page" and v == 1)
        }
        return urlencode(kept)

    def export_query(self, fmt: str) -> str:
        """The same filters for GET /v1/cases/export."""
        filters = {k: getattr(self, k) for k in ("status", "street", "community", "grid")}
        filters |= {"category": self.category, "overdue": self.overdue, "format": fmt}
        filters |= {"mobile_grid": self.mobile_grid}
        return urlencode({k: v for k, v in filters.items() if v})


def _queue_answer(
    request: Request, conn: Connection, user: SignedIn, shown: Queue, **context: Any
) -> HTMLResponse:
    fragment = bool(request.headers.get("hx-request"))
    message = ""
    try:
        found = shown.case_filter()
        queries.check_sort(shown.sort)
    except InvalidInputError as exc:
        message, found = exc.message_zh or exc.message, None
    counts: dict[str, int] = {}
    rows: list[cases.Case] = []
    matched = 0
    if found is not None:
        by_status = queries.count_cases(conn, replace(found, statuses=()), by="status")
        counts = {c.code: c.cases for c in by_status}
        matched = sum(n for s, n in counts.items() if not found.statuses or s in found.statuses)
        listed = queries.list_cases(
            conn,
            found,
            PAGE_SIZE,
            sort=shown.sort,
            offset=(shown.page - 1) * PAGE_SIZE,
            number_matched=matched,
        )
        rows = [user.principal.visible(c) for c in listed.items]
    pages = max(1, -(-matched // PAGE_SIZE))
    context = {
        "q": shown,
        "message": message,
        "counts": counts,
        "all_count": sum(counts.values()),
        "statuses": STATUSES,
        "status_zh": STATUS_ZH,
        "rows": rows,
        "matched": matched,
        "pages": pages,
        "page_size": PAGE_SIZE,
        "oob": fragment,
        **context,
    }
    status = 422 if message and not fragment else 200
    if fragment:
        return page(request, "cases_table.html", user, title="案件队列", status=status, **context)
    return page(
        request,
        "cases_queue.html",
        user,
        title="案件队列",
        active="cases",
        status=status,
        streets=list_units(conn, "street"),
        communities=list_units(conn, "community"),
        categories=list_categories(conn),
        mobile_grids=[g.name for g in organisations.mobile_grids(conn).grids],
        sorts=SORT_ZH,
        may_import=user.principal.may(Permission.import_cases),
        **context,
    )


@router.get("/console/cases")
def case_queue(
    request: Request,
    conn: ConnDep,
    user: StaffDep,
    status: Annotated[Word, Query()] = "",
    street: Annotated[Word, Query()] = "",
    community: Annotated[Word, Query()] = "",
    grid: Annotated[Word, Query()] = "",
    category: Annotated[Word, Query()] = "",
    overdue: Annotated[Word, Query()] = "",
    sort: Annotated[Word, Query()] = "-created",
    page_no: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
    mobile_grid: Annotated[str, Query(max_length=100)] = "",
) -> HTMLResponse:
    """The case queue: filters, counts per status, one page of cases (htmx: the table only)."""
    shown = Queue(status, street, community, grid, category, overdue, sort, page_no, mobile_grid)
    return _queue_answer(request, conn, user, shown)


@router.post("/console/cases/import")
def import_file(
    request: Request,
    conn: ConnDep,
    user: Importer,
    snapshots: SnapshotsDep,
    case_settings: CaseSettingsDep,
    file: Annotated[UploadFile, File()],
) -> HTMLResponse:
    """Import cases from a CSV or XLSX file: all rows or none."""
    name = Path(file.filename or "").name
    suffix = Path(name).suffix.lower()
    created: list[int] = []
    already: list[int] = []
    errors: list[dict[str, Any]] = []
    message = ""
    if suffix not in IMPORT_SUFFIXES:
        message = f"文件“{name}”应为 .csv 或 .xlsx 格式"
    else:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"upload{suffix}"
            path.write_bytes(file.file.read())
            try:
                rows = cases.read_rows(path)
                result = cases.import_cases(
                    conn, snapshots.current(), rows, user.username, case_settings
                )
                created, already = result.created, result.already
            except LoadError as exc:
                conn.rollback()  # all or nothing: the good rows go too
                message = exc.message_zh or exc.message
                errors = [d for d in (exc.details or []) if isinstance(d, dict)]
    return page(
        request,
        "cases_import.html",
        user,
        title="导入案件",
        active="cases",
        status=422 if message else 200,
        file_name=name,
        created=created,
        already=already,
        message=message,
        errors=errors,
    )


def move_label(status: str, to: str) -> str:
    """A move's button: 签收 to sign for a dispatched case, 核查不通过 for a failed check,
    解除挂账 to leave hold, else the status."""
    if status == "dispatched" and to == "in_progress":
        return "签收"
    if status == "handled" and to == "in_progress":
        return "核查不通过"
    if status == "on_hold" and to != "void":
        return f"解除挂账（回到{STATUS_ZH[to]}）"
    return STATUS_ZH[to]


def _moves(case: cases.Case, principal: Principal, handler: str | None) -> list[dict[str, Any]]:
    """The legal moves ``principal``'s duties allow (geogrid.cases.duties)."""
    department = None if case.department is None else case.department.code
    legal = {
        to
        for to in legal_moves(case.status, case.held_from)
        if duties.may(principal, duties.move_name(case.status, to), department, handler)
    }
    return [
        {
            "to": to,
            "label": move_label(case.status, to),
            "needs_note": needs_note(case.status, to),
            "danger": to == "void",
        }
        for to in STATUSES
        if to in legal
    ]


def _case_context(conn: Connection, user: SignedIn, case: cases.Case) -> dict[str, Any]:
    shown = user.principal.visible(case)
    principal = user.principal
    department = None if case.department is None else case.department.code
    handler = duties.handled_by(conn, case.id)
    moves = _moves(case, principal, handler)
    may_return = case.status == "dispatched" and duties.may(
        principal, "return", department, handler
    )
    may_escalate = case.status not in ("closed", "void") and duties.may(
        principal, "escalate", department, handler
    )
    return {
        "moves": moves,
        "may_return": may_return,
        "may_escalate": may_escalate,
        "levels": [
            (level, duties.LEVEL_ZH[level])
            for level in duties.LEVELS
            if case.escalation is None
            or duties.LEVELS.index(level) > duties.LEVELS.index(case.escalation)
        ],
        "level_zh": duties.LEVEL_ZH,
        "may_reroute": principal.may(Permission.handle_cases),
        "case_photos": [principal.visible(p) for p in cases.list_photos(conn, case.id)],
        "stage_zh": STAGE_ZH,
        "stages": STAGES,
        "may_upload": duties.may_add_photo(principal, case.created_by, department),
        "case": shown,
        "status_zh": STATUS_ZH,
        "channel_zh": CHANNELS.get(shown.channel, shown.channel),
        "flags_zh": [FLAG_ZH.get(f, f) for f in shown.flags],
        "photos": [(p, p.startswith(("https://", "http://", "/"))) for p in shown.photos],
        "may_handle": bool(moves) or may_return or may_escalate,
        **followup_context(conn, user, case),
    }


def _case_answer(
    request: Request,
    conn: Connection,
    user: SignedIn,
    case_id: int,
    *,
    message: str = "",
    kind: str = "ok",
    status: int = 200,
    note: str = "",
) -> HTMLResponse:
    case = cases.get_case(conn, case_id, with_events=True)
    context = {**_case_context(conn, user, case), "message": message, "kind": kind, "note": note}
    if request.headers.get("hx-request"):
        # htmx swaps 2xx answers only: a refusal comes back as the panel with its message.
        return page(request, "case_panel.html", user, title=f"案件 {case_id}", **context)
    return page(
        request,
        "case_page.html",
        user,
        title=f"案件 {case_id}",
        active="cases",
        status=status,
        **context,
    )


@router.get("/console/cases/{case_id}")
def case_page(request: Request, conn: ConnDep, user: StaffDep, case_id: Id) -> HTMLResponse:
    """One case: its facts, the moves it may take and its timeline."""
    return _case_answer(request, conn, user, case_id)


def _refused(
    request: Request,
    conn: Connection,
    user: SignedIn,
    case_id: int,
    exc: GeogridError,
    note: str,
    status: int,
) -> Response:
    conn.rollback()
    message = exc.message_zh or exc.message
    return _case_answer(
        request, conn, user, case_id, message=message, kind="error", status=status, note=note
    )


@router.post("/console/cases/{case_id}/transitions")
def move_case(
    request: Request,
    conn: ConnDep,
    user: Mover,
    case_settings: CaseSettingsDep,
    case_id: Id,
    to: Annotated[Word, Form()],
    note: Annotated[Note, Form()] = "",
) -> Response:
    """Move a case to its next status (a note is needed to void, hold or fail a check)."""
    try:
        before = cases.get_case(conn, case_id)
        duties.move_case(conn, user.principal, case_id, to, note.strip(), case_settings)
    except (InvalidInputError, ConflictError, PermissionDeniedError) as exc:
        return _refused(request, conn, user, case_id, exc, note, _status(exc))
    done = f"已{move_label(before.status, to)}：{STATUS_ZH[before.status]} → {STATUS_ZH[to]}"
    if request.headers.get("hx-request"):
        return _case_answer(request, conn, user, case_id, message=done)
    return RedirectResponse(f"{root(request)}/console/cases/{case_id}", 303)


@router.post("/console/cases/{case_id}/reroute")
def reroute_case(
    request: Request,
    conn: ConnDep,
    user: Dispatcher,
    case_id: Id,
    grid: Annotated[Word, Form()] = "",
    reason: Annotated[Note, Form()] = "",
) -> Response:
    """Send a case to another grid of the current release, with a reason (both required)."""
    try:
        if not grid.strip() or not reason.strip():
            raise InvalidInputError(tr("re-routing a case needs a grid code and a reason"))
        cases.reroute(conn, case_id, grid.strip(), user.username, reason.strip())
    except (InvalidInputError, ConflictError) as exc:
        return _refused(request, conn, user, case_id, exc, "", _status(exc))
    if request.headers.get("hx-request"):
        return _case_answer(request, conn, user, case_id, message=f"已改派到网格 {grid.strip()}")
    return RedirectResponse(f"{root(request)}/console/cases/{case_id}", 303)


@router.post("/console/cases/{case_id}/return")
def return_case(
    request: Request,
    conn: ConnDep,
    user: Mover,
    case_id: Id,
    reason: Annotated[Note, Form()] = "",
) -> Response:
    """退单: hand a dispatched case back to the dispatchers, with a reason."""
    try:
        duties.return_case(conn, user.principal, case_id, reason)
    except (InvalidInputError, ConflictError, PermissionDeniedError) as exc:
        return _refused(request, conn, user, case_id, exc, "", _status(exc))
    if request.headers.get("hx-request"):
        return _case_answer(request, conn, user, case_id, message="已退单，退回调度重新派遣")
    return RedirectResponse(f"{root(request)}/console/cases/{case_id}", 303)


@router.post("/console/cases/{case_id}/escalate")
def escalate_case(
    request: Request,
    conn: ConnDep,
    user: Escalator,
    case_id: Id,
    level: Annotated[Word, Form()] = "",
    reason: Annotated[Note, Form()] = "",
) -> Response:
    """吹哨报到: escalate a case to the street or the district, with a reason."""
    try:
        duties.escalate(conn, user.principal, case_id, level, reason)
    except (InvalidInputError, ConflictError, PermissionDeniedError) as exc:
        return _refused(request, conn, user, case_id, exc, "", _status(exc))
    if request.headers.get("hx-request"):
        message = f"已吹哨报到（{duties.LEVEL_ZH[level]}）"
        return _case_answer(request, conn, user, case_id, message=message)
    return RedirectResponse(f"{root(request)}/console/cases/{case_id}", 303)


@router.get("/console/tasks")
def task_list(
    request: Request,
    conn: ConnDep,
    user: Annotated[SignedIn, Depends(need(Permission.handle_department_cases))],
) -> HTMLResponse:
    """A handler's task list: the cases of their department waiting for them (签收, 反馈)."""
    principal = user.principal
    waiting = [principal.visible(c) for c in duties.waiting_for(conn, principal)]
    return page(
        request,
        "tasks.html",
        user,
        title="本部门待办",
        active="tasks",
        tasks=waiting,
        status_zh=STATUS_ZH,
        department=None
        if principal.department is None
        else get_department(conn, principal.department),
    )


@router.post("/console/cases/{case_id}/photos")
def upload_photo(
    request: Request,
    conn: ConnDep,
    user: Uploader,
    settings: PhotoSettingsDep,
    case_id: Id,
    file: Annotated[UploadFile, File()],
    stage: Annotated[Word, Form()] = "",
    caption: Annotated[Note, Form()] = "",
) -> Response:
    """Add a photo to a case (a plain form post: the page comes back with the photo)."""
    try:
        duties.authorize_photo(conn, user.principal, case_id)
        cases.add_photo(
            conn,
            case_id,
            file.file.read(settings.photo_max_bytes + 1),
            stage=stage,
            actor=user.username,
            settings=settings,
            caption=caption,
            name=file.filename or "",
        )
    except (
        InvalidInputError,
        ConflictError,
        TooLargeError,
        UnsupportedMediaTypeError,
        PermissionDeniedError,
    ) as exc:
        return _refused(request, conn, user, case_id, exc, "", _status(exc))
    return RedirectResponse(f"{root(request)}/console/cases/{case_id}#photos-title", 303)


def _status(exc: GeogridError) -> int:
    if isinstance(exc, PermissionDeniedError):
        return 403
    if isinstance(exc, TooLargeError):
        return 413
    if isinstance(exc, UnsupportedMediaTypeError):
        return 415
    return 409 if isinstance(exc, ConflictError) else 422
