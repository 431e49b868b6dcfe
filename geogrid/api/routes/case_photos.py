"""Photos of a case: upload one (handle_cases; report_cases on the cases one reported;
handle_department_cases on one's department's), list them, get one or its thumbnail (open to
viewers, like the case).

What anyone downloads is the served copy: orientation applied, no EXIF, XMP or location.
``?original=true`` gives the file as uploaded, with whatever its camera wrote (often where it
was taken), to callers who may see personal data. The original is a URL of its own rather than
what the same URL answers a dispatcher, so no shared cache can hand a dispatcher's copy to a
viewer. Checks and storage are geogrid.cases.photos.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response

from geogrid.access.ratelimits import Budget
from geogrid.access.roles import Permission, Principal
from geogrid.api.deps import ConnDep, PhotoSettingsDep, PrincipalDep, limited, require
from geogrid.api.openapi import problems
from geogrid.api.responses import json_response
from geogrid.api.schemas.cases import PhotoInfo
from geogrid.cases import duties, photos
from geogrid.cases.photos import STAGE_ZH, Photo
from geogrid.limits import Id
from geogrid.moments import LOCAL

router = APIRouter(tags=["cases"])

#: Photos never change once stored (a new file is a new photo): cache them for a year.
IMMUTABLE = "public, max-age=31536000, immutable"
SUFFIXES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


def photo_body(photo: Photo, principal: Principal) -> dict[str, Any]:
    """A photo as the API lists it (its uploader masked for viewers)."""
    photo = principal.visible(photo)
    url = f"/v1/cases/{photo.case_id}/photos/{photo.id}"
    return {
        "id": photo.id,
        "case_id": photo.case_id,
        "stage": photo.stage,
        "stage_zh": STAGE_ZH[photo.stage],
        "caption": photo.caption,
        "content_type": photo.content_type,
        "size_bytes": photo.size_bytes,
        "sha256": photo.sha256,
        "width": photo.width,
        "height": photo.height,
        "uploaded_at": photo.uploaded_at.astimezone(LOCAL).isoformat(),
        "uploaded_by": photo.uploaded_by,
        "url": url,
        "thumbnail_url": f"{url}/thumbnail",
    }


@router.post(
    "/v1/cases/{case_id}/photos",
    response_model=PhotoInfo,
    status_code=201,
    dependencies=[
        require(
            Permission.report_cases, Permission.handle_cases, Permission.handle_department_cases
        ),
        limited(Budget.writes),
    ],
    responses=problems(409, 415),
)
def upload_photo(
    conn: ConnDep,
    principal: PrincipalDep,
    settings: PhotoSettingsDep,
    case_id: Id,
    file: Annotated[UploadFile, File(description="A JPEG, PNG or WebP image")],
    stage: Annotated[Literal["report", "before", "after"], Form()],
    caption: Annotated[str, Form()] = "",
) -> Response:
    """Add a photo to a case: 201, or 200 with the stored photo when the same file was sent."""
    duties.authorize_photo(conn, principal, case_id)  # a handler: their department's cases
    data = file.file.read(settings.photo_max_bytes + 1)  # one byte over says "too large"
    photo, created = photos.add_photo(
        conn,
        case_id,
        data,
        stage=stage,
        actor=principal.actor,
        settings=settings,
        caption=caption,
        name=file.filename or "",
    )
    body = photo_body(photo, principal)
    return json_response(body, 201 if created else 200, {"Location": body["url"]})


@router.get("/v1/cases/{case_id}/photos", response_model=list[PhotoInfo])
def case_photos(conn: ConnDep, principal: PrincipalDep, case_id: Id) -> Response:
    """The photos of a case, oldest first."""
    return json_response([photo_body(p, principal) for p in photos.list_photos(conn, case_id)])


_IMAGE: dict[int | str, dict[str, Any]] = {
    200: {"content": {t: {} for t in SUFFIXES}, "description": "The image"}
}


@router.get(
    "/v1/cases/{case_id}/photos/{photo_id}",
    response_class=Response,
    responses={**_IMAGE, **problems(403)},
)
def case_photo(
    conn: ConnDep,
    principal: PrincipalDep,
    case_id: Id,
    photo_id: Id,
    original: Annotated[
        bool,
        Query(
            description="The file as uploaded, EXIF location and all (needs "
            "see_personal_data); else the served copy without metadata"
        ),
    ] = False,
) -> Response:
    """One photo of a case, without EXIF, XMP or location (or the original, for dispatchers)."""
    if original:
        principal.require(Permission.see_personal_data)
    content, content_type = photos.photo_content(
        conn, case_id, photo_id, "original" if original else "served"
    )
    name = f"case-{case_id}-photo-{photo_id}{'-original' if original else ''}"
    return Response(
        content,
        media_type=content_type,
        headers={
            "Cache-Control": "private, no-store" if original else IMMUTABLE,
            "Content-Disposition": f'inline; filename="{name}.{SUFFIXES[content_type]}"',
        },
    )


@router.get(
    "/v1/cases/{case_id}/photos/{photo_id}/thumbnail",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "A JPEG thumbnail"}},
)
def case_photo_thumbnail(conn: ConnDep, case_id: Id, photo_id: Id) -> Response:
    """A JPEG thumbnail of a photo, at most 320 px on its longer side, without metadata."""
    content, content_type = photos.photo_content(conn, case_id, photo_id, "thumbnail")
    return Response(content, media_type=content_type, headers={"Cache-Control": IMMUTABLE})
