"""Open311 GeoReport v2 over real HTTP: the georeport client reads it, plain forms post to it."""

from __future__ import annotations

import shlex
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from georeport import GeoReport
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from geogrid.access import keys
from geogrid.access.roles import Role
from geogrid.cli.main import app as cli
from tests.api import failing_app
from tests.conftest import start_api

ROOT = "/open311/v2"
#: The moves a department makes (the admin stands in for its handler here).
HANDLER = {"in_progress": Role.admin, "handled": Role.admin}


@dataclass
class Site:
    base: str
    tokens: dict[Role, str]
    point: tuple[float, float]  # a compound's point (WGS84 = storage here)
    grid: tuple[str, str]  # the grid holding it: code, name
    compound: str  # that compound's name, for address_string
    database_url: str

    @property
    def endpoint(self) -> str:
        return self.base + ROOT

    def client(self, output_format: str = "json") -> GeoReport:
        return GeoReport(self.endpoint, output_format=output_format)

    def post(
        self, fmt: str = "json", role: Role | None = Role.dispatcher, **fields: Any
    ) -> httpx.Response:
        form = {
            "service_code": "E0102",
            "lat": str(self.point[1]),
            "long": str(self.point[0]),
            "description": "路口垃圾堆放两天无人清理",
            "first_name": "大伟",
            "last_name": "李",
            "phone": "13900001111",
            "email": "li@example.org",
            "media_url": "https://example.org/p/1.jpg",
            **({"api_key": self.tokens[role]} if role is not None else {}),
            **fields,
        }
        return httpx.post(
            f"{self.endpoint}/requests.{fmt}",
            data={k: v for k, v in form.items() if v is not None},
            timeout=30,
        )

    def get(self, path: str, **params: Any) -> httpx.Response:
        return httpx.get(f"{self.endpoint}{path}", params=params, timeout=30)

    def transition(self, case_id: int, *moves: str, note: str = "") -> None:
        for to in moves:
            answer = httpx.post(
                f"{self.base}/v1/cases/{case_id}/transitions",
                json={"to": to, "note": note},
                timeout=30,
                # signing for and handling are the department's (here the admin stands in)
                headers={
                    "Authorization": f"Bearer {self.tokens[HANDLER.get(to, Role.dispatcher)]}"
                },
            )
            assert answer.status_code == 200, answer.text


@pytest.fixture(scope="module")
def site(server: Any, demo_template: str) -> Iterator[Site]:
    url = server.database("open311", template=demo_template)
    engine = create_engine(url)
    with engine.begin() as conn:
        tokens = {
            role: keys.create_key(conn, f"open311-{role.name}", role)[1]
            for role in (Role.viewer, Role.dispatcher, Role.admin)
        }
        row = conn.execute(
            text(
                "SELECT ST_X(c.point) x, ST_Y(c.point) y, c.name, g.code, g.name AS grid_name "
                "FROM compound c JOIN grid_geometry gg ON gg.valid_to_release IS NULL "
                "AND ST_Covers(gg.geom, c.point) JOIN grid g ON g.code = gg.grid_code "
                "WHERE (SELECT count(*) FROM compound d WHERE d.name = c.name) = 1 "
                "ORDER BY c.id LIMIT 1"
            )
        ).one()
    engine.dispose()
    # geogrid's app plus one route under /open311 that fails like a bug (tests/api/failing_app.py)
    process, base = start_api(url, factory=failing_app.FACTORY)
    yield Site(base, tokens, (row.x, row.y), (row.code.strip(), row.grid_name), row.name, url)
    process.terminate()
    process.wait(timeout=20)


def _created_id(answer: httpx.Response) -> int:
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert isinstance(body, list) and set(body[0]) == {
        "service_request_id",
        "service_notice",
        "account_id",
    }
    return int(body[0]["service_request_id"])


def _spec_error(answer: httpx.Response, fmt: str, status: int) -> str:
    """The description of GeoReport's one-error list, checked to say ``status``."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(
        "application/json" if fmt == "json" else "text/xml"
    )
    if fmt == "json":
        [error] = answer.json()
        assert error["code"] == status and error["description"]
        return str(error["description"])
    root = ET.fromstring(answer.content)
    assert root.tag == "errors" and root.findtext("error/code") == str(status)
    return root.findtext("error/description") or ""


def _xml_requests(answer: httpx.Response) -> list[dict[str, str | None]]:
    assert answer.status_code == 200, answer.text
    root = ET.fromstring(answer.content)
    assert root.tag == "service_requests"
    return [{child.tag: child.text for child in item} for item in root.findall("request")]


def test_georeport_client_reads_the_services(site: Site) -> None:
    services = site.client().get_service_list()
    codes = {s["service_code"] for s in services}
    assert {"E0102", "E0503"} <= codes and any(c.startswith("C") for c in codes)
    first = services[0]
    assert {
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    } <= set(first)
    assert first["metadata"] is False and first["type"] == "realtime"
    assert {s["group"] for s in services} >= {"市容环境", "公用设施"}
    in_xml = site.client("xml").get_service_list()
    assert [s["service_code"] for s in in_xml] == [s["service_code"] for s in services]
    assert in_xml[0]["metadata"] == "false" and in_xml[0]["group"] == first["group"]
    definition = site.client().get_service_definition("E0102")
    assert definition == {"service_code": "E0102", "attributes": []}
    assert site.client("xml").get_service_definition("E0102")["service_code"] == "E0102"


def test_a_form_post_creates_a_case_the_get_returns(site: Site) -> None:
    answer = site.post()
    case_id = _created_id(answer)
    assert answer.headers["location"] == f"{ROOT}/requests/{case_id}.json"
    found = site.get(f"/requests/{case_id}.json")
    assert found.status_code == 200 and found.headers["content-type"].startswith("application/json")
    [request] = found.json()
    assert request["service_request_id"] == case_id
    assert request["status"] == "open" and request["status_notes"] == "上报"
    assert request["service_code"] == "E0102" and request["service_name"]
    assert request["description"] == "路口垃圾堆放两天无人清理"
    # the department the responsibility list names (E0102 → 城管), then the grid
    assert request["agency_responsible"] == (
        f"瑶海区城市管理局（数字城管中心）（CG）；{site.grid[0]} {site.grid[1]}"
    )
    assert request["lat"] == pytest.approx(site.point[1], abs=1e-6)
    assert request["long"] == pytest.approx(site.point[0], abs=1e-6)
    assert request["media_url"] == "https://example.org/p/1.jpg"
    assert request["requested_datetime"].endswith("+08:00")
    assert request["updated_datetime"].endswith("+08:00")
    assert request["expected_datetime"] is None  # the clock starts at acceptance
    # the public GET shows nothing of the reporter
    for secret in ("李大伟", "大伟", "13900001111", "li@example.org"):
        assert secret not in found.text
    # the case behind it: channel open311, reporter stored for dispatchers
    case = httpx.get(
        f"{site.base}/v1/cases/{case_id}",
        timeout=30,
        headers={"Authorization": f"Bearer {site.tokens[Role.dispatcher]}"},
    ).json()
    assert case["channel"] == "open311" and case["grid"]["code"] == site.grid[0]
    assert case["reporter"] == {"name": "李大伟", "phone": "13900001111"}
    # the same request in XML, by hand and through the client
    [in_xml] = _xml_requests(site.get(f"/requests/{case_id}.xml"))
    assert in_xml["service_request_id"] == str(case_id) and in_xml["status"] == "open"
    assert in_xml["agency_responsible"] == request["agency_responsible"]
    assert in_xml["address"] is None and float(in_xml["lat"] or 0) == request["lat"]
    assert site.client().get_service_request(str(case_id))["service_code"] == "E0102"
    assert site.client("xml").get_service_request(str(case_id))["status"] == "open"


def test_xml_post_and_address_only(site: Site) -> None:
    answer = site.post(
        "xml", lat=None, long=None, address_string=site.compound, description=None, media_url=None
    )
    assert answer.status_code == 201, answer.text
    root = ET.fromstring(answer.content)
    assert root.tag == "service_requests"
    case_id = int(root.findtext("request/service_request_id") or 0)
    assert root.find("request/account_id") is not None
    [request] = site.get(f"/requests/{case_id}.json").json()
    assert request["address"] == site.compound
    assert site.grid[0] in request["agency_responsible"]
    assert request["description"] and request["media_url"] is None


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_keys_are_checked_in_the_spec_error_format(site: Site, fmt: str) -> None:
    cases = [
        site.post(fmt, role=None, api_key="gg_not_a_key"),
        site.post(fmt, role=None),
        site.post(fmt, role=Role.viewer),
    ]
    for answer in cases:
        assert answer.status_code == 403, answer.text
        if fmt == "json":
            [error] = answer.json()
            assert error["code"] == 403 and error["description"]
        else:
            root = ET.fromstring(answer.content)
            assert root.tag == "errors" and root.findtext("error/code") == "403"
            assert root.findtext("error/description")


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_paths_methods_and_failures_answer_in_the_spec_error_format(
    site: Site, fmt: str
) -> None:
    wrong_method = httpx.delete(f"{site.endpoint}/requests.{fmt}", timeout=30)
    assert "Method Not Allowed" in _spec_error(wrong_method, fmt, 405)
    assert wrong_method.headers["allow"]
    assert _spec_error(httpx.put(f"{site.endpoint}/services.{fmt}", timeout=30), fmt, 405)
    assert _spec_error(site.get(f"/no-such-thing.{fmt}"), fmt, 404)
    assert _spec_error(httpx.get(f"{site.base}/open311/v3/services.{fmt}", timeout=30), fmt, 404)
    failed = site.get(f"/failing.{fmt}")
    assert _spec_error(failed, fmt, 500) == "internal error"
    assert failing_app.SECRET not in failed.text
    # elsewhere the API keeps its own shape
    elsewhere = httpx.delete(f"{site.base}/v1/locate", timeout=30)
    assert elsewhere.status_code == 405 and elsewhere.json()["code"] == "http_error"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_json_body_is_refused_saying_where_api_key_goes(site: Site, fmt: str) -> None:
    fields = {
        "api_key": site.tokens[Role.dispatcher],
        "service_code": "E0102",
        "lat": site.point[1],
        "long": site.point[0],
    }
    answer = httpx.post(f"{site.endpoint}/requests.{fmt}", json=fields, timeout=30)
    description = _spec_error(answer, fmt, 400)  # not 403 "api_key is required": it was sent
    assert "application/json" in description
    assert "application/x-www-form-urlencoded" in description and "api_key" in description
    in_zh = httpx.post(
        f"{site.endpoint}/requests.json", json=fields, timeout=30, headers={"Accept-Language": "zh"}
    )
    assert "表单" in _spec_error(in_zh, "json", 400)


def test_bad_requests_answer_400_or_404(site: Site) -> None:
    unknown = site.post(service_code="X9999")
    assert unknown.status_code == 400
    [error] = unknown.json()
    assert error["code"] == 400 and "X9999" in error["description"]
    missing = site.post("xml", service_code="")
    assert missing.status_code == 400
    assert "service_code" in (ET.fromstring(missing.content).findtext("error/description") or "")
    assert site.post(lat="95", long="117.3").status_code == 400
    assert site.post(lat="31.8", long=None).status_code == 400
    assert site.post(lat=None, long=None).status_code == 400
    assert site.post(media_url="ftp://x").status_code == 400
    assert site.post(jurisdiction_id="999999").status_code == 404
    assert site.get("/services/X9999.json").json()[0]["code"] == 404
    not_found = site.get("/requests/99999999.xml")
    assert not_found.status_code == 404
    assert ET.fromstring(not_found.content).findtext("error/code") == "404"
    assert site.get("/requests/abc.json").status_code == 404
    in_zh = httpx.get(
        f"{site.endpoint}/requests/99999999.json", timeout=30, headers={"Accept-Language": "zh-CN"}
    )
    assert "不存在" in in_zh.json()[0]["description"]
    assert site.get("/services.json", jurisdiction_id="110101").status_code == 404
    assert site.get("/services.json", jurisdiction_id="340102").status_code == 200
    assert site.get("/requests.json", start_date="yesterday").status_code == 400
    assert (
        site.get(
            "/requests.json", start_date="2026-01-01T00:00:00Z", end_date="2026-06-01T00:00:00Z"
        ).status_code
        == 400
    )
    assert site.get("/requests.json", status="pending").status_code == 400


def test_requests_filters(site: Site) -> None:
    closed_id = _created_id(site.post(service_code="E0503", description="占用消防通道"))
    site.transition(closed_id, "accepted", "dispatched", "in_progress", "handled", "verified")
    site.transition(closed_id, "closed", note="已清理完毕")
    void_id = _created_id(site.post())
    site.transition(void_id, "void", note="重复上报")
    open_id = _created_id(site.post())
    site.transition(open_id, "accepted", note="立案处理")

    def ids(**params: Any) -> set[int]:
        answer = site.get("/requests.json", **params)
        assert answer.status_code == 200, answer.text
        return {r["service_request_id"] for r in answer.json()}

    everything = ids()
    assert {closed_id, void_id, open_id} <= everything
    assert ids(status="closed") >= {closed_id, void_id}
    assert open_id not in ids(status="closed")
    assert closed_id not in ids(status="open") and open_id in ids(status="open")
    assert ids(status="open,closed") == everything
    assert ids(service_code="E0503") == {closed_id}
    assert ids(service_code="E0503,E0102") == everything
    assert ids(service_code=["E0503", "E0102"]) == everything  # repeated, as the spec allows
    assert ids(service_request_id=f"{closed_id},{open_id}") == {closed_id, open_id}
    # service_request_id overrides the other filters
    assert ids(service_request_id=str(open_id), status="closed") == {open_id}
    assert ids(start_date="2020-01-01T00:00:00+08:00", end_date="2020-02-01") == set()
    assert ids(start_date="2098-12-01", end_date="2099-01-01T00:00:00Z") == set()
    assert ids(start_date="2098-12-01") == set()

    by_id = {r["service_request_id"]: r for r in site.get("/requests.json").json()}
    assert by_id[closed_id]["status_notes"] == "结案：已清理完毕"
    assert by_id[void_id]["status"] == "closed"
    assert by_id[void_id]["status_notes"] == "作废：重复上报"
    assert by_id[open_id]["status_notes"] == "立案：立案处理"
    assert by_id[open_id]["expected_datetime"].endswith("+08:00")  # accepted: clock runs
    # the client reads the list, with filters, in both formats
    assert {
        int(r["service_request_id"]) for r in site.client().get_service_requests(status="closed")
    } == ids(status="closed")
    assert {
        int(r["service_request_id"])
        for r in site.client("xml").get_service_requests(service_code="E0503,E0102")
    } == everything
    assert {
        int(r["service_request_id"] or 0)
        for r in _xml_requests(site.get("/requests.xml", status="open"))
    } == ids(status="open")


def test_discovery(site: Site) -> None:
    found = site.get("/discovery.json").json()
    [endpoint] = found["endpoints"]
    assert endpoint["url"] == site.endpoint and endpoint["type"] == "production"
    assert set(endpoint["formats"]) == {"application/json", "text/xml"}
    root = ET.fromstring(site.get("/discovery.xml").content)
    assert root.tag == "discovery"
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == endpoint[
        "formats"
    ]
    assert site.get("/discovery.yaml").status_code == 404


def test_discovery_gives_the_command_that_makes_a_working_key(site: Site) -> None:
    key_service = site.get("/discovery.json").json()["key_service"]
    command = shlex.split(key_service[key_service.index("geogrid ") :])
    assert command[0] == "geogrid"
    made = CliRunner().invoke(
        cli, command[1:], env={"GEOGRID_DATABASE_URL": site.database_url, "COLUMNS": "200"}
    )
    assert made.exit_code == 0, made.output
    key = made.stdout.strip().splitlines()[-1]
    _created_id(site.post(role=None, api_key=key))
