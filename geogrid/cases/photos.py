"""Evidence: photos of a case (上报 report, 处置前 before, 处置后 after), checked, stored in
PostgreSQL and served without the place they were taken.

An upload is judged by its bytes, never its name or Content-Type: Pillow must read it as JPEG,
PNG or WebP (else 415), within ``GEOGRID_PHOTO_MAX_BYTES`` and ``GEOGRID_PHOTO_MAX_PIXELS``
(else 413, the pixels checked from the header before anything is decoded), and it must decode
whole (else 422). Three versions are stored, all made at upload (table ``case_photo``):

- the **original** bytes, untouched; their SHA-256 is the photo's identity, so the same bytes
  uploaded to a case twice are stored once. Phones write where a photo was taken into its
  EXIF, so the original is shown only to callers who may see personal data (dispatchers);
- the **served** copy everyone gets: the EXIF orientation applied (``ImageOps.exif_transpose``)
  and then every EXIF, XMP and text chunk left out, the ICC colour profile kept;
- a **thumbnail**: JPEG, at most :data:`THUMBNAIL_PX` on its longer side, no metadata.

A category may require an after-photo before a case is reported handled (反馈):
:func:`check_after_photo`, which :func:`geogrid.cases.records.transition` calls.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import Connection, text

from geogrid.access.roles import mask_name
from geogrid.cases.lifecycle import FINAL, STATUS_ZH
from geogrid.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    TooLargeError,
    UnsupportedMediaTypeError,
)
from geogrid.i18n import tr
from geogrid.settings import PhotoSettings

#: When a photo was taken: with the report, before the work, after it.
STAGES = ("report", "before", "after")
STAGE_ZH = {"report": "上报", "before": "处置前", "after": "处置后"}
#: The formats taken (as Pillow names them) and their content types.
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
#: The longest side of a thumbnail, in pixels.
THUMBNAIL_PX = 320
CAPTION_MAX = 200
#: The versions of a photo one can download (``original`` for dispatchers only).
VARIANTS = ("served", "original", "thumbnail")
_VARIANT_SQL = {
    "served": "SELECT served AS content, content_type FROM case_photo "
    "WHERE case_id = :case_id AND id = :photo_id",
    "original": "SELECT original AS content, content_type FROM case_photo "
    "WHERE case_id = :case_id AND id = :photo_id",
    "thumbnail": "SELECT thumbnail AS content, 'image/jpeg' AS content_type FROM case_photo "
    "WHERE case_id = :case_id AND id = :photo_id",
}
_COLUMNS = (
    "id, case_id, stage, caption, sha256, content_type, size_bytes, width, height, "
    "uploaded_at, uploaded_by"
)


class AfterPhotoRequiredError(ConflictError):
    """A case of a category that needs an after-photo was to be reported handled without one."""

    code = "after_photo_required"


@dataclass(frozen=True)
class Photo:
    """One photo of a case as listed: what it is, not its bytes."""

    id: int
    case_id: int
    stage: str
    caption: str
    #: of the original bytes as uploaded
    sha256: str
    content_type: str
    #: of the original
    size_bytes: int
    #: as served: after the EXIF orientation is applied
    width: int
    height: int
    uploaded_at: datetime
    uploaded_by: str

    def masked(self) -> Photo:
        """The same photo with its uploader masked (for viewers)."""
        return replace(self, uploaded_by=mask_name(self.uploaded_by) or "")


@dataclass(frozen=True)
class PreparedPhoto:
    """An upload checked and made ready to store."""

    content_type: str
    sha256: str
    width: int
    height: int
    served: bytes
    thumbnail: bytes


def prepare_photo(data: bytes, settings: PhotoSettings, name: str = "") -> PreparedPhoto:
    """Check an upload by its bytes and make its served copy and thumbnail.

    Parameters
    ----------
    data
        The file as uploaded.
    settings
        ``photo_max_bytes`` and ``photo_max_pixels``.
    name
        The file's name, for messages only.

    Raises
    ------
    TooLargeError
        Over ``photo_max_bytes`` bytes or ``photo_max_pixels`` pixels (413).
    UnsupportedMediaTypeError
        Not a JPEG, PNG or WebP image, whatever its name says (415).
    InvalidInputError
        Empty, or damaged so that it does not decode (422).

    Examples
    --------
    >>> buffer = io.BytesIO()
    >>> Image.new("RGB", (640, 480), "green").save(buffer, "PNG")
    >>> prepared = prepare_photo(buffer.getvalue(), PhotoSettings())
    >>> prepared.content_type, prepared.width, prepared.height
    ('image/png', 640, 480)
    >>> Image.open(io.BytesIO(prepared.thumbnail)).size
    (320, 240)
    """
    shown = (name or "photo")[:100]
    if not data:
        raise InvalidInputError(tr('the file "{name}" is empty', name=shown))
    if len(data) > settings.photo_max_bytes:
        raise TooLargeError(
            tr(
                'the photo "{name}" is {size} bytes but a photo may have at most {limit} bytes',
                name=shown,
                size=len(data),
                limit=settings.photo_max_bytes,
            ),
            details={"limit_bytes": settings.photo_max_bytes},
        )
    try:
        image = Image.open(io.BytesIO(data), formats=list(CONTENT_TYPES))
    except UnidentifiedImageError:
        raise UnsupportedMediaTypeError(
            tr(
                'the file "{name}" is not a JPEG, PNG or WebP image (judged by its content, '
                "not its name or Content-Type)",
                name=shown,
            ),
            details={"allowed": list(CONTENT_TYPES.values())},
        ) from None
    except Image.DecompressionBombError:
        raise _too_many_pixels(shown, None, settings) from None
    with image:
        width, height = image.size
        if width * height > settings.photo_max_pixels:
            raise _too_many_pixels(shown, (width, height), settings)
        format_name = str(image.format)
        try:
            image.load()  # the first frame of an animation: the one served
            oriented = ImageOps.exif_transpose(image)
            served = _without_metadata(oriented, format_name)
            thumbnail = _thumbnail(oriented)
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise InvalidInputError(
                tr(
                    'the file "{name}" looks like {format} but is damaged or cut short ({error})',
                    name=shown,
                    format=format_name,
                    error=str(exc)[:200],
                )
            ) from None
    return PreparedPhoto(
        content_type=CONTENT_TYPES[format_name],
        sha256=hashlib.sha256(data).hexdigest(),
        width=oriented.width,
        height=oriented.height,
        served=served,
        thumbnail=thumbnail,
    )


def _too_many_pixels(
    name: str, size: tuple[int, int] | None, settings: PhotoSettings
) -> TooLargeError:
    message = (
        tr(
            'the photo "{name}" has too many pixels; a photo may have at most {limit} pixels',
            name=name,
            limit=settings.photo_max_pixels,
        )
        if size is None
        else tr(
            'the photo "{name}" is {width}x{height} = {pixels} pixels but a photo may have at '
            "most {limit} pixels",
            name=name,
            width=size[0],
            height=size[1],
            pixels=size[0] * size[1],
            limit=settings.photo_max_pixels,
        )
    )
    return TooLargeError(message, details={"limit_pixels": settings.photo_max_pixels})


def _without_metadata(image: Image.Image, format_name: str) -> bytes:
    """``image`` encoded as ``format_name`` with no EXIF, XMP or text: its colour profile and
    transparency kept."""
    clean = image.copy()
    kept: dict[str | tuple[int, int], Any] = {
        k: image.info[k] for k in ("icc_profile", "transparency") if k in image.info
    }
    clean.info = kept
    options: dict[str, Any] = {}
    if "icc_profile" in kept:
        options["icc_profile"] = kept["icc_profile"]
    if format_name in ("JPEG", "WEBP"):
        options["quality"] = 90
    out = io.BytesIO()
    clean.save(out, format_name, **options)
    return out.getvalue()


def _thumbnail(image: Image.Image) -> bytes:
    """A JPEG of at most THUMBNAIL_PX on its longer side; transparency shown on white."""
    small = image.copy()
    small.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX), Image.Resampling.LANCZOS)
    if small.mode in ("RGBA", "LA", "PA") or "transparency" in small.info:
        rgba = small.convert("RGBA")
        small = Image.new("RGB", rgba.size, "white")
        small.paste(rgba, mask=rgba.getchannel("A"))
    elif small.mode != "RGB":
        small = small.convert("RGB")
    small.info = {}
    out = io.BytesIO()
    small.save(out, "JPEG", quality=80)
    return out.getvalue()


def check_stage(stage: str) -> str:
    if stage not in STAGES:
        raise InvalidInputError(
            tr(
                'stage was "{stage}" but must be one of {STAGES}',
                stage=stage[:20],
                STAGES=list(STAGES),
            )
        )
    return stage


def add_photo(
    conn: Connection,
    case_id: int,
    data: bytes,
    *,
    stage: str,
    actor: str,
    settings: PhotoSettings,
    caption: str = "",
    name: str = "",
) -> tuple[Photo, bool]:
    """Store a photo of case ``case_id``; returns (photo, created).

    The same bytes sent again with the same stage answer with the photo stored the first time
    (``created`` False). An upload is recorded in the case's history.

    Raises
    ------
    InvalidInputError
        A stage not in :data:`STAGES`, a caption over :data:`CAPTION_MAX` characters, an empty
        or damaged file (422).
    TooLargeError, UnsupportedMediaTypeError
        See :func:`prepare_photo` (413, 415).
    NotFoundError
        No case ``case_id`` (404).
    ConflictError
        The case is closed or void, or the same bytes are a photo of another stage of it (409):
        an after-photo must show the work done, not repeat the report's.
    """
    check_stage(stage)
    caption = " ".join(caption.split())
    if len(caption) > CAPTION_MAX:
        raise InvalidInputError(
            tr(
                "a photo caption may have at most {maximum} characters, not {length}",
                maximum=CAPTION_MAX,
                length=len(caption),
            )
        )
    prepared = prepare_photo(data, settings, name)
    case = conn.execute(
        text("SELECT status FROM civic_case WHERE id = :id FOR SHARE"), {"id": case_id}
    ).one_or_none()
    if case is None:
        raise NotFoundError(tr("case {case_id} does not exist", case_id=case_id))
    if case.status in FINAL:
        raise ConflictError(
            tr(
                "case {case_id} is {status}: its photos can no longer change",
                case_id=case_id,
                status=case.status,
                status_zh=STATUS_ZH[case.status],
            )
        )
    inserted = conn.execute(
        text(
            "INSERT INTO case_photo (case_id, stage, caption, sha256, content_type, size_bytes, "
            "width, height, original, served, thumbnail, uploaded_by) VALUES (:case_id, :stage, "
            ":caption, :sha256, :content_type, :size, :width, :height, :original, :served, "
            f":thumbnail, :actor) ON CONFLICT (case_id, sha256) DO NOTHING RETURNING {_COLUMNS}"
        ),
        {
            "case_id": case_id,
            "stage": stage,
            "caption": caption,
            "sha256": prepared.sha256,
            "content_type": prepared.content_type,
            "size": len(data),
            "width": prepared.width,
            "height": prepared.height,
            "original": data,
            "served": prepared.served,
            "thumbnail": prepared.thumbnail,
            "actor": actor,
        },
    ).one_or_none()
    if inserted is not None:
        photo = Photo(*inserted)
        conn.execute(
            text(
                "INSERT INTO case_event (case_id, actor, kind, note, details) "
                "VALUES (:case_id, :actor, 'photo', :note, :details)"
            ),
            {
                "case_id": case_id,
                "actor": actor,
                "note": caption,
                "details": json.dumps(
                    {"photo": photo.id, "stage": stage, "sha256": prepared.sha256}
                ),
            },
        )
        return photo, True
    existing = Photo(
        *conn.execute(
            text(f"SELECT {_COLUMNS} FROM case_photo WHERE case_id = :c AND sha256 = :h"),
            {"c": case_id, "h": prepared.sha256},
        ).one()
    )
    if existing.stage != stage:
        raise ConflictError(
            tr(
                "this file is photo {photo_id} of case {case_id} already, as a {stage} photo; "
                "a {new_stage} photo must be another picture",
                photo_id=existing.id,
                case_id=case_id,
                stage=existing.stage,
                new_stage=stage,
                stage_zh=STAGE_ZH[existing.stage],
                new_stage_zh=STAGE_ZH[stage],
            ),
            details={"photo": existing.id, "stage": existing.stage},
        )
    return existing, False


def list_photos(conn: Connection, case_id: int) -> list[Photo]:
    """The photos of a case, oldest first; NotFoundError when there is no such case."""
    found = conn.execute(text("SELECT 1 FROM civic_case WHERE id = :id"), {"id": case_id})
    if found.first() is None:
        raise NotFoundError(tr("case {case_id} does not exist", case_id=case_id))
    rows = conn.execute(
        text(f"SELECT {_COLUMNS} FROM case_photo WHERE case_id = :id ORDER BY id"),
        {"id": case_id},
    )
    return [Photo(*row) for row in rows]


def photo_content(
    conn: Connection, case_id: int, photo_id: int, variant: str = "served"
) -> tuple[bytes, str]:
    """The bytes of one version of a photo and their content type.

    ``variant`` is one of :data:`VARIANTS`; who may have the ``original`` is the caller's
    decision. NotFoundError when case ``case_id`` has no photo ``photo_id``.
    """
    if variant not in _VARIANT_SQL:
        raise InvalidInputError(
            tr(
                'variant was "{variant}" but must be one of {VARIANTS}',
                variant=variant[:20],
                VARIANTS=list(VARIANTS),
            )
        )
    row = conn.execute(
        text(_VARIANT_SQL[variant]), {"case_id": case_id, "photo_id": photo_id}
    ).one_or_none()
    if row is None:
        raise NotFoundError(
            tr("case {case_id} has no photo {photo_id}", case_id=case_id, photo_id=photo_id)
        )
    return bytes(row.content), row.content_type


def check_after_photo(conn: Connection, case_id: int) -> None:
    """Raise AfterPhotoRequiredError when the case's category needs an after-photo and the
    case has none (reporting it handled, 反馈, must wait for one)."""
    row = conn.execute(
        text(
            "SELECT k.code, k.name, k.requires_after_photo, EXISTS (SELECT 1 FROM case_photo p "
            "WHERE p.case_id = c.id AND p.stage = 'after') AS has_after "
            "FROM civic_case c JOIN case_category k ON k.code = c.category WHERE c.id = :id"
        ),
        {"id": case_id},
    ).one()
    if row.requires_after_photo and not row.has_after:
        raise AfterPhotoRequiredError(
            tr(
                "case {case_id} is of category {category} {name}, which needs a photo of stage "
                '"after" before the case is reported handled; upload one to '
                "/v1/cases/{case_id}/photos first",
                case_id=case_id,
                category=row.code,
                name=row.name,
            ),
            details={"rule": "requires_after_photo", "category": row.code},
        )


def after_photo_categories(conn: Connection) -> frozenset[str]:
    """The codes of the categories whose cases need an after-photo before 反馈."""
    rows = conn.execute(text("SELECT code FROM case_category WHERE requires_after_photo"))
    return frozenset(code for (code,) in rows)


def require_after_photo(conn: Connection, category: str, required: bool = True) -> None:
    """Make cases of ``category`` need (or no longer need) an after-photo before 反馈.

    The rule counts at the moment a case is reported handled, for running cases too.
    NotFoundError when no active category has the code.
    """
    changed = conn.execute(
        text(
            "UPDATE case_category SET requires_after_photo = :r WHERE code = :c AND active "
            "RETURNING code"
        ),
        {"r": required, "c": category},
    ).one_or_none()
    if changed is None:
        raise NotFoundError(tr('no active case category has the code "{code}"', code=category[:20]))
