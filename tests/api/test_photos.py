"""Photos of a case over real HTTP: upload, list, download without location, refusals."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import create_engine, text

from geogrid.access import keys, users
from geogrid.access.roles import Role
from geogrid.api.schemas.cases import CategoryInfo, PhotoInfo
from geogrid.settings import AuthSettings
from tests.cases.test_photos import GPS_IFD, jpeg_with_gps, png, png_claiming
from tests.conftest import start_api

MAX_BYTES = 200_000
PASSWORD = "photo-pass-5678"


class Api:
    def __init__(self, base: str, tokens: dict[Role, str]) -> None:
        self.base, self.tokens = base, tokens

    def call(
        self, method: str, path: str, role: Role | None = Role.dispatcher, **kwargs: Any
    ) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if role is not None:
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return httpx.request(method, f"{self.base}{path}", headers=headers, timeout=30, **kwargs)

    def upload(
        self,
        case_id: int,
        data: bytes,
        stage: str = "report",
        name: str = "IMG_0001.jpg",
        content_type: str = "image/jpeg",
        role: Role | None = Role.dispatcher,
        **kwargs: Any,
    ) -> httpx.Response:
        return self.call(
            "POST",
            f"/v1/cases/{case_id}/photos",
            role,
            files={"file": (name, data, content_type)},
            data={"stage": stage, "caption": "现场"},
            **kwargs,
        )

    def new_case(self, category: str = "E0503", role: Role = Role.dispatcher) -> int:
        answer = self.call(
            "POST",
            "/v1/cases",
            role,
            json={
                "category": category,
                "description": "现场有问题",
                "lon": self.point[0],
                "lat": self.point[1],
                "crs": "cgcs2000",
                "reporter": {"name": "李大伟", "phone": "13900001111"},
                "channel": "app",
            },
        )
        assert answer.status_code == 201, answer.text
        return int(answer.json()["id"])

    point = (0.0, 0.0)


@pytest.fixture(scope="module")
def api(server: Any, demo_template: str) -> Iterator[Api]:
    url = server.database("photosapi", template=demo_template)
    engine = create_engine(url)
    with engine.begin() as conn:
        tokens = {
            role: keys.create_key(conn, f"photos-{role.name}", role)[1]
            for role in (Role.viewer, Role.dispatcher, Role.admin, Role.reporter)
        }
        users.create_user(conn, "photo-d", Role.dispatcher, PASSWORD, AuthSettings())
        users.create_user(conn, "photo-v", Role.viewer, PASSWORD, AuthSettings())
        point = conn.execute(
            text("SELECT ST_X(point), ST_Y(point) FROM compound ORDER BY id LIMIT 1")
        ).one()
    engine.dispose()
    process, base = start_api(url, settings={"GEOGRID_PHOTO_MAX_BYTES": str(MAX_BYTES)})
    found = Api(base, tokens)
    found.point = (float(point[0]), float(point[1]))
    yield found
    process.terminate()
    process.wait(timeout=20)


def test_a_viewer_downloads_a_photo_without_its_location(api: Api) -> None:
    case_id = api.new_case()
    data = jpeg_with_gps()
    answer = api.upload(case_id, data)
    assert answer.status_code == 201, answer.text
    photo = PhotoInfo.model_validate(answer.json())
    assert photo.sha256 == hashlib.sha256(data).hexdigest() and photo.size_bytes == len(data)
    assert (photo.width, photo.height) == (600, 800) and photo.stage_zh == "上报"
    assert photo.uploaded_at.endswith("+08:00")
    assert answer.headers["location"] == photo.url

    served = api.call("GET", photo.url, role=None)
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(served.content)) as image:
        assert image.size == (600, 800)
        assert not image.getexif().get_ifd(GPS_IFD) and not image.getexif()
    thumbnail = api.call("GET", photo.thumbnail_url, role=Role.viewer)
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(thumbnail.content)) as image:
        assert max(image.size) <= 320 and not image.getexif()

    # the untouched file, GPS and all, only for those who may see personal data
    for role in (None, Role.viewer):
        refused = api.call("GET", f"{photo.url}?original=true", role=role)
        assert refused.status_code == 403 and "see_personal_data" in refused.json()["detail"]
    original = api.call("GET", f"{photo.url}?original=true")
    assert original.status_code == 200 and original.content == data
    assert original.headers["cache-control"] == "private, no-store"
    with Image.open(io.BytesIO(original.content)) as image:
        assert image.getexif().get_ifd(GPS_IFD)[2] == (31.0, 52.0, 10.5)


def test_the_list_masks_the_uploader_for_viewers(api: Api) -> None:
    case_id = api.new_case()
    api.upload(case_id, png(), name="a.png", content_type="image/png")
    api.upload(case_id, jpeg_with_gps((300, 300)), stage="before")
    seen = api.call("GET", f"/v1/cases/{case_id}/photos", role=None)
    assert seen.status_code == 200
    listed = [PhotoInfo.model_validate(p) for p in seen.json()]
    assert [p.stage for p in listed] == ["report", "before"]
    assert [p.content_type for p in listed] == ["image/png", "image/jpeg"]
    assert listed[0].uploaded_by.startswith("p*")
    full = api.call("GET", f"/v1/cases/{case_id}/photos").json()
    assert full[0]["uploaded_by"] == "photos-dispatcher"
    history = api.call("GET", f"/v1/cases/{case_id}").json()["events"]
    assert [e["kind"] for e in history] == ["created", "photo", "photo"]


def test_the_same_file_twice_is_stored_once(api: Api) -> None:
    case_id = api.new_case()
    data = jpeg_with_gps((200, 100))
    first = api.upload(case_id, data)
    again = api.upload(case_id, data, name="another-name.jpg")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert len(api.call("GET", f"/v1/cases/{case_id}/photos").json()) == 1
    as_after = api.upload(case_id, data, stage="after")
    assert as_after.status_code == 409 and "report" in as_after.json()["detail"]


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("scan.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n", "application/pdf"),
        ("photo.jpg", "我是文字，不是照片".encode(), "image/jpeg"),
    ],
)
def test_a_file_that_is_not_an_image_is_refused(
    api: Api, name: str, data: bytes, content_type: str
) -> None:
    case_id = api.new_case()
    answer = api.upload(case_id, data, name=name, content_type=content_type)
    assert answer.status_code == 415, answer.text
    assert answer.json()["code"] == "unsupported_media_type" and name in answer.json()["detail"]
    zh = api.upload(case_id, data, name=name, headers={"Accept-Language": "zh"})
    assert "不是 JPEG、PNG 或 WebP 图片" in zh.json()["detail"]
    assert api.call("GET", f"/v1/cases/{case_id}/photos").json() == []


def test_too_large_and_too_many_pixels_are_refused(api: Api) -> None:
    case_id = api.new_case()
    # over the photo limit, within the route's body limit: refused by the photo check
    padded = jpeg_with_gps() + b"\0" * MAX_BYTES
    answer = api.upload(case_id, padded)
    assert answer.status_code == 413 and f"at most {MAX_BYTES} bytes" in answer.json()["detail"]
    # far over: refused by the body limit before a byte is read
    answer = api.upload(case_id, b"\xff\xd8" + b"\0" * (MAX_BYTES + 200_000))
    assert answer.status_code == 413 and answer.json()["code"] == "too_large"
    bomb = api.upload(case_id, png((8000, 8000), "1"), name="bomb.png", content_type="image/png")
    assert bomb.status_code == 413 and "64000000 pixels" in bomb.json()["detail"]
    liar = api.upload(case_id, png_claiming(30_000, 30_000), name="x.png")
    assert liar.status_code == 413
    damaged = api.upload(case_id, jpeg_with_gps()[:3000])
    assert damaged.status_code == 422 and "damaged" in damaged.json()["detail"]
    bad_stage = api.upload(case_id, png(), stage="during")
    assert bad_stage.status_code == 422
    assert api.call("GET", f"/v1/cases/{case_id}/photos").json() == []


def test_viewers_cannot_upload_and_photos_stay_with_their_case(api: Api) -> None:
    case_id, other = api.new_case(), api.new_case()
    viewer = api.upload(case_id, png(), role=Role.viewer)
    assert viewer.status_code == 403
    assert "report_cases or handle_cases" in viewer.json()["detail"]
    assert api.upload(case_id, png(), role=None).status_code == 401
    photo = api.upload(case_id, png(), name="p.png").json()
    for path in (f"/v1/cases/{other}/photos/{photo['id']}", f"/v1/cases/{other}/photos/9999999"):
        assert api.call("GET", path, role=None).status_code == 404
        assert api.call("GET", f"{path}/thumbnail", role=None).status_code == 404
    assert api.call("GET", "/v1/cases/99999999/photos", role=None).status_code == 404
    assert api.upload(99999999, png()).status_code == 404


def test_a_reporter_adds_photos_to_their_own_cases_only(api: Api) -> None:
    """A courier's key (上报员) photographs what it reported; another's case is not theirs to
    add to (they report what they see as a new case, and the dispatcher merges duplicates)."""
    own, others = api.new_case(role=Role.reporter), api.new_case()
    added = api.upload(own, png(), name="own.png", role=Role.reporter)
    assert added.status_code == 201, added.text
    refused = api.upload(others, png(), name="other.png", role=Role.reporter)
    assert refused.status_code == 403, refused.text
    assert "cases they reported" in refused.json()["detail"]
    listed = api.call("GET", f"/v1/cases/{others}/photos").json()
    assert listed == [], listed  # the refused upload stored nothing
    assert api.upload(others, png(), name="other.png").status_code == 201  # the centre may


def test_an_after_photo_is_needed_before_handled(api: Api) -> None:
    categories = [
        CategoryInfo.model_validate(c) for c in api.call("GET", "/v1/case-categories").json()
    ]
    rule = {c.code: c.requires_after_photo for c in categories}
    assert rule["E0103"] and rule["E0502"] and not rule["E0102"] and not rule["E0503"]
    case_id = api.new_case("E0502")
    for status in ("accepted", "dispatched", "in_progress"):
        # signing for is the department's: the admin stands in for its handler
        who = Role.admin if status == "in_progress" else Role.dispatcher
        moved = api.call("POST", f"/v1/cases/{case_id}/transitions", role=who, json={"to": status})
        assert moved.status_code == 200, moved.text
    refused = api.call(
        "POST", f"/v1/cases/{case_id}/transitions", role=Role.admin, json={"to": "handled"}
    )
    assert refused.status_code == 409 and refused.json()["code"] == "after_photo_required"
    assert "E0502 占道经营" in refused.json()["detail"]
    assert api.call("GET", f"/v1/cases/{case_id}").json()["status"] == "in_progress"
    assert api.upload(case_id, jpeg_with_gps(), stage="after").status_code == 201
    handled = api.call(
        "POST", f"/v1/cases/{case_id}/transitions", role=Role.admin, json={"to": "handled"}
    )
    assert handled.status_code == 200 and handled.json()["status"] == "handled"


def signed_in(api: Api, name: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=api.base, timeout=30, follow_redirects=False)
    assert client.post("/login", data={"username": name, "password": PASSWORD}).status_code == 303
    page = client.get("/console/cases").text
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert found is not None
    return client, found.group(1)


def test_the_console_case_page_shows_thumbnails_and_takes_uploads(api: Api) -> None:
    case_id = api.new_case()
    page = f"/console/cases/{case_id}"
    client, token = signed_in(api, "photo-d")
    try:
        assert "还没有照片" in client.get(page).text
        form = {"stage": "before", "caption": "处置前"}
        photo = {"file": ("before.jpg", jpeg_with_gps((300, 200)), "image/jpeg")}
        without_token = client.post(f"{page}/photos", data=form, files=photo)
        assert without_token.status_code == 403
        assert api.call("GET", f"/v1/cases/{case_id}/photos").json() == []
        done = client.post(f"{page}/photos", data={**form, "csrf_token": token}, files=photo)
        assert done.status_code == 303, done.text[:300]
        shown = client.get(page).text
        (listed,) = api.call("GET", f"/v1/cases/{case_id}/photos").json()
        assert listed["stage"] == "before" and listed["uploaded_by"] == "photo-d"
        assert f'src="{listed["thumbnail_url"]}"' in shown and "上传处置前照片" in shown
        pdf = {"file": ("scan.pdf", b"%PDF-1.7\n%%EOF\n", "application/pdf")}
        refused = client.post(f"{page}/photos", data={**form, "csrf_token": token}, files=pdf)
        assert refused.status_code == 415 and "不是 JPEG、PNG 或 WebP 图片" in refused.text
    finally:
        client.close()
    viewer, token = signed_in(api, "photo-v")
    try:
        assert 'name="stage"' not in viewer.get(page).text
        upload = viewer.post(
            f"{page}/photos", data={"stage": "report", "csrf_token": token}, files=photo
        )
        assert upload.status_code == 403
    finally:
        viewer.close()
    assert len(api.call("GET", f"/v1/cases/{case_id}/photos").json()) == 1
