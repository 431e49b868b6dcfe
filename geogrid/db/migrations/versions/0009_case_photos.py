"""Evidence: photos of a case, stored in PostgreSQL, and categories that need an after-photo.

``case_photo`` holds each photo three times, all made at upload (geogrid/cases/photos.py):
the ``original`` bytes as uploaded (their SHA-256 is the photo's identity: the same bytes are
stored once per case), the ``served`` copy (orientation applied, every EXIF/XMP/text chunk
dropped, so no location leaves with it) and a ``thumbnail`` (JPEG, at most 320 px, no
metadata). In the database, so ``geogrid db backup`` covers them and every host of a fleet
serves the same photos; stored uncompressed (``STORAGE EXTERNAL``): JPEG, PNG and WebP are
compressed already, and PostgreSQL would try in vain.

``case_category.requires_after_photo``: a case of the category cannot be reported handled
(反馈) without a photo of stage ``after``. The shipped catalogue sets it for classes whose
fix a photo shows (illustrative): piled-up rubbish and spoil, littered roads, illegal small
ads, street vending, outdoor barbecues, manhole covers. Not for 暴露垃圾 (E0102): a bin bag
is often gone before anyone could photograph it, and there the check (核查) is the evidence.

``case_event.kind`` gains ``photo`` (an upload is part of a case's history).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

#: Categories of the shipped catalogue whose fix an after-photo shows (illustrative).
AFTER_PHOTO_CATEGORIES = (
    "E0103",  # 积存垃圾渣土
    "E0201",  # 非法小广告
    "E0303",  # 道路遗撒
    "E0502",  # 占道经营
    "E0507",  # 露天烧烤
    "C0101",  # 上水井盖
    "C0102",  # 污水井盖
    "C0103",  # 雨水井盖
    "C0104",  # 电力井盖
)

UPGRADE = r"""
ALTER TABLE case_category ADD COLUMN requires_after_photo boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN case_category.requires_after_photo IS
    'A case of this category needs a photo of stage after before it is reported handled';

ALTER TABLE case_event DROP CONSTRAINT case_event_kind_check;
ALTER TABLE case_event ADD CONSTRAINT case_event_kind_check
    CHECK (kind IN ('created', 'transition', 'reroute', 'flag', 'photo'));

CREATE TABLE case_photo (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id         bigint NOT NULL REFERENCES civic_case (id),
    stage           text NOT NULL CHECK (stage IN ('report', 'before', 'after')),
    caption         text NOT NULL DEFAULT '' CHECK (length(caption) <= 200),
    sha256          char(64) NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    content_type    text NOT NULL
                    CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp')),
    size_bytes      integer NOT NULL CHECK (size_bytes > 0),
    -- as served: after the EXIF orientation is applied
    width           integer NOT NULL CHECK (width > 0),
    height          integer NOT NULL CHECK (height > 0),
    original        bytea NOT NULL,
    served          bytea NOT NULL,
    thumbnail       bytea NOT NULL,
    uploaded_at     timestamptz NOT NULL DEFAULT now(),
    uploaded_by     text NOT NULL,
    UNIQUE (case_id, sha256)
);
ALTER TABLE case_photo ALTER COLUMN original SET STORAGE EXTERNAL,
    ALTER COLUMN served SET STORAGE EXTERNAL, ALTER COLUMN thumbnail SET STORAGE EXTERNAL;
CREATE INDEX case_photo_case ON case_photo (case_id, id);
"""


def upgrade() -> None:
    op.execute(UPGRADE)
    codes = ", ".join(f"'{code}'" for code in AFTER_PHOTO_CATEGORIES)
    op.execute(f"UPDATE case_category SET requires_after_photo = true WHERE code IN ({codes})")


def downgrade() -> None:
    op.execute(
        "DROP TABLE case_photo;"
        "DELETE FROM case_event WHERE kind = 'photo';"
        "ALTER TABLE case_event DROP CONSTRAINT case_event_kind_check;"
        "ALTER TABLE case_event ADD CONSTRAINT case_event_kind_check "
        "CHECK (kind IN ('created', 'transition', 'reroute', 'flag'));"
        "ALTER TABLE case_category DROP COLUMN requires_after_photo;"
    )
