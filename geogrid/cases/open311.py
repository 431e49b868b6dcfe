"""Open311 GeoReport v2 mapped onto cases: services are case categories, requests are cases.

GeoReport v2 (http://wiki.open311.org/GeoReport_v2) is what many city apps speak. Here:

- a *service* is an active category of the catalogue (``service_code`` = category code,
  ``group`` = its major class); no category asks extra questions, so ``metadata`` is false and a
  service definition has no attributes;
- a *service request* is a case. ``status`` is ``open`` unless the case is closed or void;
  ``status_notes`` gives the case's own status in Chinese and the note of its last transition;
  ``agency_responsible`` is the department the case is dispatched to (its name and code; the
  grid's street office when the responsibility list names none) and then the grid it is routed
  to (code and name); ``expected_datetime`` is its due time (null until accepted); times are ISO 8601
  in Asia/Shanghai with their offset; ``lat``/``long`` are WGS84 (storage is CGCS2000, which
  agrees with WGS84 to well under a metre, so no shift is applied).
- GET answers are public, so reporters' names, phones and e-mails are never in them.

This module knows nothing of HTTP: it turns form fields into a
:class:`~geogrid.cases.report.CaseReport`, reads cases as Open311 requests and renders
bodies as JSON-ready dicts or XML.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text

from geogrid.cases.categories import TYPE_ZH, Category, list_categories
from geogrid.cases.lifecycle import FINAL, STATUS_ZH
from geogrid.cases.records import Case, case_from_row
from geogrid.cases.report import CaseReport
from geogrid.errors import InvalidInputError, NotFoundError
from geogrid.geo.datum import point_from_storage
from geogrid.i18n import tr
from geogrid.limits import ascii_digits, check_text
from geogrid.moments import LOCAL, in_range, read_iso

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
#: When this endpoint's contract last changed (discovery's ``changeset``).
CHANGESET = "2026-11-27T00:00:00+08:00"
FORMATS = {"json": "application/json", "xml": "text/xml"}
#: The command that makes a key ``POST requests`` accepts (run by whoever runs this server).
KEY_COMMAND = "geogrid keys create --role dispatcher --name NAME"
#: GeoReport v2: a date range may span at most 90 days and defaults to the last 90 days.
MAX_SPAN = timedelta(days=90)
MAX_REQUESTS = 1000
_CJK = re.compile(r"[\u3400-\u9fff]")
_URL = re.compile(r"^https?://\S+$")


@dataclass(frozen=True)
class ServiceRequest:
    """A case as Open311 sees it: the case, when it last changed, its last transition note."""

    case: Case
    updated_at: datetime
    last_note: str | None


@dataclass(frozen=True)
class RequestQuery:
    """The filters of ``GET requests``; ``ids`` overrides all the others (as the spec says)."""

    ids: tuple[int, ...] = ()
    service_codes: tuple[str, ...] = ()
    statuses: frozenset[str] = frozenset({"open", "closed"})
    start: datetime | None = None
    end: datetime | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, str], now: datetime | None = None) -> RequestQuery:
        """Check the query parameters; a bad value is named with what is allowed.

        Examples
        --------
        >>> RequestQuery.from_params({"service_request_id": "3, 5", "status": "open"}).ids
        (3, 5)
        >>> sorted(RequestQuery.from_params({"status": "open"}).statuses)
        ['open']
        >>> q = RequestQuery.from_params({"end_date": "2026-05-01"})
        >>> q.start.isoformat(), q.end.isoformat()
        ('2026-01-31T00:00:00+08:00', '2026-05-01T00:00:00+08:00')
        """
        for key, value in params.items():
            check_text(key, value, 20 * MAX_REQUESTS)
        ids_text = params.get("service_request_id", "").strip()
        if ids_text:
            ids = []
            for part in _split(ids_text):
                if not (ascii_digits(part) and len(part) <= 18):
                    raise InvalidInputError(
                        tr(
                            'service_request_id was "{part}" but must be a number (several: comma separated)',
                            part=part,
                        ),
                    )
                ids.append(int(part))
            if len(ids) > MAX_REQUESTS:
                raise InvalidInputError(f"at most {MAX_REQUESTS} service_request_id at once")
            return cls(ids=tuple(ids))
        statuses = frozenset(_split(params.get("status", "").lower())) or cls.statuses
        if not statuses <= {"open", "closed"}:
            raise InvalidInputError(
                tr(
                    'status was "{status}" but must be open, closed or both (comma separated)',
                    status=params["status"],
                ),
            )
        start = _moment(params, "start_date")
        end = _moment(params, "end_date")
        if start is not None and end is not None:
            if end < start:
                raise InvalidInputError(tr("end_date must not be before start_date"))
            if end - start > MAX_SPAN:
                raise InvalidInputError(
                    tr(
                        "start_date to end_date spans {days} days; at most 90 days may be asked for at once",
                        days=(end - start).days,
                    ),
                )
        elif start is not None:
            end = start + MAX_SPAN
        else:
            end = end or now or datetime.now(LOCAL)
            start = end - MAX_SPAN
        return cls(
            service_codes=tuple(_split(params.get("service_code", ""))),
            statuses=statuses,
            start=start,
            end=end,
        )


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _moment(params: Mapping[str, str], name: str) -> datetime | None:
    value = params.get(name, "").strip()
    if not value:
        return None
    try:
        moment = read_iso(value)
    except ValueError:
        raise InvalidInputError(
            tr(
                '{name} was "{value}" but must be an ISO 8601 time such as '
                "2026-05-01T00:00:00Z (no offset means Asia/Shanghai)",
                name=name,
                value=value,
            ),
        ) from None
    return in_range(name, moment, value)


# ---- jurisdiction and services ---------------------------------------------------------------


def jurisdiction(conn: Connection) -> tuple[str, str]:
    """The district this server answers for: (code, name), e.g. ("340102", "瑶海区")."""
    row = conn.execute(text("SELECT code, name FROM district ORDER BY code LIMIT 1")).first()
    if row is None:
        raise NotFoundError(tr("no district is loaded; run: geogrid load demo"))
    return str(row.code).strip(), str(row.name)


def check_jurisdiction(conn: Connection, jurisdiction_id: str | None) -> None:
    """Refuse a ``jurisdiction_id`` other than this server's district code (404)."""
    if jurisdiction_id is None or not jurisdiction_id.strip():
        return
    code, name = jurisdiction(conn)
    if jurisdiction_id.strip() != code:
        raise NotFoundError(
            tr(
                'jurisdiction_id was "{jurisdiction_id}" but this server only answers for {code} ({name})',
                jurisdiction_id=jurisdiction_id,
                code=code,
                name=name,
            ),
        )


def discovery(endpoint_url: str, contact: str) -> dict[str, Any]:
    """The discovery document for one production endpoint at ``endpoint_url``."""
    return {
        "changeset": CHANGESET,
        "contact": contact,
        "key_service": "an api_key with the dispatcher role, from this server's operator, "
        f"who creates one with: {KEY_COMMAND}",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": endpoint_url,
                "changeset": CHANGESET,
                "type": "production",
                "formats": list(FORMATS.values()),
            }
        ],
    }


def service(category: Category) -> dict[str, Any]:
    """One category as a GeoReport service."""
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": f"{TYPE_ZH[category.type]} · {category.major_name} · "
        f"{category.name}（处置时限 {category.handling_hours:g} 小时）",
        "metadata": False,
        "type": "realtime",
        "keywords": ",".join((TYPE_ZH[category.type], category.major_name)),
        "group": category.major_name,
    }


def service_definition(category: Category) -> dict[str, Any]:
    """A category's service definition: no category asks extra questions (yet)."""
    return {"service_code": category.code, "attributes": []}


def find_service(conn: Connection, service_code: str | None) -> Category:
    """The active category ``service_code`` names.

    Raises
    ------
    InvalidInputError
        No service_code was given (400 in GeoReport terms).
    NotFoundError
        The code is not in the catalogue; the message names a few that are.
    """
    if service_code is None or not service_code.strip():
        raise InvalidInputError(
            tr("service_code is required (GET services lists them)"),
        )
    code = service_code.strip()
    known = list_categories(conn)
    for category in known:
        if category.code == code:
            return category
    sample = [f"{c.code} {c.name}" for c in known[:5]]
    raise NotFoundError(
        tr(
            'service_code was "{code}" but must be one of the {known} codes GET services lists, such as {sample}',
            code=code,
            known=len(known),
            sample=sample,
        ),
    )


# ---- requests ----------------------------------------------------------------------------------


def report_from_form(form: Mapping[str, str], category: Category) -> CaseReport:
    """A case report from the fields of ``POST requests`` (form-encoded, per the spec).

    ``lat``/``long`` are WGS84 unless an extra ``crs`` field names another supported crs;
    ``address_string`` alone is matched against compound names. ``first_name``/``last_name``
    and ``phone`` become the reporter; ``media_url`` the photo. ``email``, ``device_id`` and
    ``account_id`` are not stored (cases have no such fields).

    Examples
    --------
    >>> cat = Category("E0102", "event", "市容环境", "暴露垃圾", 24.0)
    >>> r = report_from_form({"lat": "31.87", "long": "117.33", "first_name": "三",
    ...                       "last_name": "张", "media_url": "https://x.org/1.jpg"}, cat)
    >>> r.lon, r.lat, r.reporter_name, r.description, r.channel, r.photos
    (117.33, 31.87, '张三', '暴露垃圾', 'open311', ('https://x.org/1.jpg',))
    """
    body: dict[str, Any] = {
        "category": category.code,
        "channel": "open311",
        "crs": _field(form, "crs", 20) or "wgs84",
    }
    lat_text, lon_text = _field(form, "lat", 40), _field(form, "long", 40)
    if (lat_text is None) != (lon_text is None):
        raise InvalidInputError(
            tr("give both lat and long, or an address_string"),
        )
    if lat_text is not None and lon_text is not None:
        body["lat"], body["lon"] = _number("lat", lat_text), _number("long", lon_text)
    body["address"] = _field(form, "address_string", 200)
    if lat_text is None and body["address"] is None:
        what = " (address_id is not supported)" if _field(form, "address_id", 200) else ""
        raise InvalidInputError(
            tr(
                "a request needs lat and long (WGS84), or an address_string naming a compound{what}",
                what=what,
            ),
        )
    body["description"] = _field(form, "description", 2000) or category.name
    media_url = _field(form, "media_url", 2000)
    if media_url is not None and not _URL.match(media_url):
        raise InvalidInputError(
            tr('media_url was "{media_url}" but must be an http(s) URL', media_url=media_url),
        )
    body["photos"] = [media_url] if media_url else []
    body["reporter"] = {
        "name": _person(_field(form, "first_name", 25), _field(form, "last_name", 25)),
        "phone": _field(form, "phone", 20),
    }
    return CaseReport.from_mapping(body)


def _field(form: Mapping[str, str], name: str, limit: int) -> str | None:
    value = form.get(name)
    if value is None or not value.strip():
        return None
    if len(value) > limit:
        raise InvalidInputError(
            tr(
                "{name} must be at most {limit} characters, not {value}",
                name=name,
                limit=limit,
                value=len(value),
            ),
        )
    return value.strip()


def _number(name: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise InvalidInputError(
            tr(
                '{name} was "{value}" but must be a decimal number (WGS84 degrees)',
                name=name,
                value=value,
            ),
        ) from None


def _person(first: str | None, last: str | None) -> str | None:
    """A Chinese name is family name first with no space; others "first last"."""
    parts = [p for p in (first, last) if p]
    if not parts:
        return None
    if any(_CJK.search(p) for p in parts):
        return "".join(p for p in (last, first) if p)
    return " ".join(parts)


_SELECT = """
SELECT v.*, n.note AS last_note
FROM case_view v
LEFT JOIN LATERAL (SELECT e.note FROM case_event e
                   WHERE e.case_id = v.id AND e.kind = 'transition'
                   ORDER BY e.id DESC LIMIT 1) n ON true
"""


def _request(row: Any) -> ServiceRequest:
    return ServiceRequest(case_from_row(row), row.updated_at, row.last_note or None)


def get_request(conn: Connection, request_id: int) -> ServiceRequest:
    """One case as a service request; NotFoundError names the id."""
    row = conn.execute(text(_SELECT + "WHERE v.id = :id"), {"id": request_id}).one_or_none()
    if row is None:
        raise NotFoundError(
            tr("service request {request_id} does not exist", request_id=request_id)
        )
    return _request(row)


def find_requests(conn: Connection, query: RequestQuery) -> list[ServiceRequest]:
    """Cases matching ``query``, newest first, at most 1000 (the spec's default page)."""
    where: list[str] = []
    params: dict[str, Any] = {"limit": MAX_REQUESTS}
    if query.ids:
        where.append("v.id = ANY(:ids)")
        params["ids"] = list(query.ids)
    else:
        if query.service_codes:
            where.append("v.category = ANY(:codes)")
            params["codes"] = list(query.service_codes)
        if query.statuses == {"open"}:
            where.append("v.status <> ALL(:final)")
            params["final"] = sorted(FINAL)
        elif query.statuses == {"closed"}:
            where.append("v.status = ANY(:final)")
            params["final"] = sorted(FINAL)
        if query.start is not None:
            where.append("v.created_at >= :start")
            params["start"] = query.start
        if query.end is not None:
            where.append("v.created_at <= :end")
            params["end"] = query.end
    sql = (
        _SELECT
        + ("WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY v.created_at DESC, v.id DESC LIMIT :limit"
    )
    return [_request(row) for row in conn.execute(text(sql), params)]


def open311_status(status: str) -> str:
    """``closed`` for closed and void cases, ``open`` for every other status.

    Examples
    --------
    >>> open311_status("on_hold"), open311_status("void")
    ('open', 'closed')
    """
    return "closed" if status in FINAL else "open"


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(LOCAL).isoformat(timespec="seconds")


def service_notice(category: Category) -> str:
    """What the reporter may expect: the category's handling time, from acceptance."""
    return f"{category.name}：立案后 {category.handling_hours:g} 小时内处置"


def agency_responsible(case: Case) -> str:
    """The department the case is dispatched to, then its grid (code and name); with no
    department, the grid's street office (街道) and the grid."""
    grid = f"{case.grid.code} {case.grid.name}"
    if case.department is None:
        return f"{case.grid.street.name}；{grid}"
    return f"{case.department.name}（{case.department.code}）；{grid}"


def request_body(request: ServiceRequest) -> dict[str, Any]:
    """A service request as GeoReport v2 shows it (no reporter data: GET is public)."""
    case = request.case
    lon, lat = point_from_storage(case.lon, case.lat, "wgs84")
    notes = STATUS_ZH[case.status] + (f"：{request.last_note}" if request.last_note else "")
    return {
        "service_request_id": case.id,
        "status": open311_status(case.status),
        "status_notes": notes,
        "service_name": case.category.name,
        "service_code": case.category.code,
        "description": case.description,
        "agency_responsible": agency_responsible(case),
        "service_notice": service_notice(case.category),
        "requested_datetime": _time(case.created_at),
        "updated_datetime": _time(request.updated_at),
        "expected_datetime": _time(case.due_at),
        "address": case.address,
        "address_id": None,
        "zipcode": None,
        "lat": round(lat, 7),
        "long": round(lon, 7),
        "media_url": case.photos[0] if case.photos else None,
    }


def created_body(case: Case) -> list[dict[str, Any]]:
    """The answer to ``POST requests``: the new request's id, a notice, no account."""
    return [
        {
            "service_request_id": case.id,
            "service_notice": service_notice(case.category),
            "account_id": None,
        }
    ]


def errors_body(code: int, description: str) -> list[dict[str, Any]]:
    """The spec's error list."""
    return [{"code": code, "description": description}]


# ---- XML ---------------------------------------------------------------------------------------

#: The root and item element of each kind of answer.
XML_ROOTS = {
    "services": ("services", "service"),
    "requests": ("service_requests", "request"),
    "errors": ("errors", "error"),
}


def to_xml(
    root: str, body: dict[str, Any] | Sequence[dict[str, Any]], item: str | None = None
) -> bytes:
    """Render ``body`` as GeoReport XML: a dict's keys become elements, a list under a key
    ``Xs`` becomes ``<Xs><X>…</X></Xs>``, None an empty element, booleans true/false.

    Examples
    --------
    >>> to_xml("errors", [{"code": 403, "description": "bad key"}], "error")[39:]
    b'<errors><error><code>403</code><description>bad key</description></error></errors>'
    >>> to_xml("service_definition", {"service_code": "E0102", "attributes": []})[39:]
    b'<service_definition><service_code>E0102</service_code><attributes /></service_definition>'
    """
    element = ET.Element(root)
    if isinstance(body, dict):
        _fill(element, body)
    else:
        for entry in body:
            _fill(ET.SubElement(element, item or root.removesuffix("s")), entry)
    content: bytes = ET.tostring(element, encoding="utf-8", xml_declaration=True)
    return content


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), child)
    elif isinstance(value, list | tuple):
        name = element.tag.removesuffix("s")
        for child in value:
            _fill(ET.SubElement(element, name), child)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)
