"""/console/cases/new: a hotline call taken as a case.

The page shows, before anything is submitted, what the case would get (its grid, community,
street, responsible people, flags, and open cases of the same kind nearby) by asking
``POST /v1/cases/preview`` as the dispatcher clicks the map, picks a compound or types
coordinates. Submitting posts the form here: the case is created by the same function as
``POST /v1/cases`` (routing, idempotency, the commit check), under the form's own
Idempotency-Key, so a double click or a resent form makes one case.
"""

from __future__ import annotations

import math
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from geogrid import cases
from geogrid.access.roles import Permission
from geogrid.access.sessions import SignedIn
from geogrid.api.deps import CaseSettingsDep, ConnDep, EngineDep, SnapshotsDep
from geogrid.api.errors import status_for
from geogrid.api.routes.console.pages import need, page, root
from geogrid.cases.categories import list_categories
from geogrid.cases.report import CHANNELS, CaseReport
from geogrid.errors import GeogridError, InvalidInputError
from geogrid.geo.datum import CRS_NAMES

router = APIRouter()
Dispatcher = Annotated[SignedIn, Depends(need(Permission.report_cases))]
#: Coordinate systems offered, in the order a dispatcher meets them.
CRS_LABELS = {
    "wgs84": "WGS84（GPS）",
    "gcj02": "GCJ-02（高德、腾讯、微信）",
    "bd09": "BD-09（百度）",
    "cgcs2000": "CGCS2000（国家大地坐标系）",
}
FIELDS = (
    "category",
    "description",
    "lon",
    "lat",
    "crs",
    "address",
    "name",
    "phone",
    "channel",
    "urgency",
)


def _form_page(
    request: Request,
    conn: ConnDep,
    user: SignedIn,
    values: dict[str, str],
    message: str = "",
    status: int = 200,
) -> HTMLResponse:
    return page(
        request,
        "intake.html",
        user,
        title="受理登记",
        active="intake",
        status=status,
        categories=list_categories(conn),
        channels=CHANNELS,
        crs_labels={k: v for k, v in CRS_LABELS.items() if k in CRS_NAMES},
        values=values,
        message=message,
        idempotency_key=values.get("idempotency_key") or secrets.token_urlsafe(16),
    )


@router.get("/console/cases/new")
def intake_form(request: Request, conn: ConnDep, user: Dispatcher) -> HTMLResponse:
    """The intake form, empty (a hotline call by default)."""
    return _form_page(request, conn, user, {"channel": "hotline", "crs": "wgs84"})


def _number(name: str, value: str) -> float | None:
    if not value.strip():
        return None
    try:
        number = float(value)
    except ValueError:
        raise InvalidInputError(f'{name} was "{value[:40]}" but must be a number') from None
    if not math.isfinite(number):
        raise InvalidInputError(f"{name} must be a finite number")
    return number


def report_from_form(values: dict[str, str]) -> CaseReport:
    """The case report the form describes (422 naming the bad field)."""
    return CaseReport.from_mapping(
        {
            "category": values.get("category", "").split(" ")[0],
            "description": values.get("description", ""),
            "lon": _number("lon", values.get("lon", "")),
            "lat": _number("lat", values.get("lat", "")),
            "crs": values.get("crs", ""),
            "address": values.get("address", ""),
            "reporter": {"name": values.get("name", ""), "phone": values.get("phone", "")},
            "channel": values.get("channel", ""),
            "urgency": values.get("urgency", ""),
        }
    )


@router.post("/console/cases/new")
def take_call(
    request: Request,
    conn: ConnDep,
    engine: EngineDep,
    snapshots: SnapshotsDep,
    case_settings: CaseSettingsDep,
    user: Dispatcher,
    category: Annotated[str, Form(max_length=200)] = "",
    description: Annotated[str, Form(max_length=4000)] = "",
    lon: Annotated[str, Form(max_length=40)] = "",
    lat: Annotated[str, Form(max_length=40)] = "",
    crs: Annotated[str, Form(max_length=40)] = "wgs84",
    address: Annotated[str, Form(max_length=400)] = "",
    name: Annotated[str, Form(max_length=100)] = "",
    phone: Annotated[str, Form(max_length=40)] = "",
    channel: Annotated[str, Form(max_length=40)] = "hotline",
    urgency: Annotated[str, Form(max_length=40)] = "",
    idempotency_key: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Create the case; on to its page (or the form again, saying what is wrong)."""
    values = {
        "category": category,
        "description": description,
        "lon": lon,
        "lat": lat,
        "crs": crs,
        "address": address,
        "name": name,
        "phone": phone,
        "channel": channel,
        "urgency": urgency,
        "idempotency_key": idempotency_key,
    }
    try:
        report = report_from_form(values)
        case, _ = cases.submit_case(
            engine,
            snapshots.current(),
            report,
            user.username,
            case_settings,
            idempotency_key or None,
            account=user.username,
        )
    except GeogridError as exc:
        return _form_page(
            request, conn, user, values, exc.message_zh or exc.message, status_for(exc)
        )
    return RedirectResponse(f"{root(request)}/console/cases/{case.id}?created=1", 303)
