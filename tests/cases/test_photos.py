"""Photos of cases: checked by their bytes, stored once, served without location, required
after the work where the category says so; against real PostGIS."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from sqlalchemy import Connection, Engine, create_engine, text

from geogrid import cases
from geogrid.cases import photos
from geogrid.cases.photos import AfterPhotoRequiredError
from geogrid.cases.report import CaseReport
from geogrid.db import backup
from geogrid.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    TooLargeError,
    UnsupportedMediaTypeError,
)
from geogrid.lookup import snapshot
from geogrid.settings import CaseSettings, PhotoSettings

SETTINGS = PhotoSettings()
GPS_IFD = 0x8825
ORIENTATION = 0x0112


def jpeg_with_gps(size: tuple[int, int] = (800, 600), orientation: int = 6) -> bytes:
    """A JPEG as a phone writes it: EXIF with GPS (in Yaohai), an orientation and XMP."""
    image = Image.new("RGB", size, (30, 120, 60))
    image.paste((200, 40, 40), (0, 0, size[0] // 4, size[1] // 4))  # a corner to follow
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "PhoneMaker"
    exif[GPS_IFD] = {1: "N", 2: (31.0, 52.0, 10.5), 3: "E", 4: (117.0, 18.0, 1.25)}
    out = io.BytesIO()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><exif:GPSLatitude>31,52.17N</exif:GPSLatitude>'
    image.save(out, "JPEG", exif=exif, xmp=xmp + b"</x:xmpmeta>")
    return out.getvalue()


def png(size: tuple[int, int] = (64, 48), mode: str = "RGB", **options: Any) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, "PNG", **options)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels, with almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0"))


# --- checking and preparing an upload (no database) ---


def test_the_served_copy_and_thumbnail_carry_no_location_and_stand_upright() -> None:
    data = jpeg_with_gps()
    assert b"GPSLatitude" in data and b"PhoneMaker" in data  # the test's own premise
    with Image.open(io.BytesIO(data)) as original:
        assert original.getexif().get_ifd(GPS_IFD)[2] == (31.0, 52.0, 10.5)
    prepared = photos.prepare_photo(data, SETTINGS, "IMG_0001.jpg")
    assert prepared.content_type == "image/jpeg"
    # orientation 6 (rotate 90° clockwise to view): 800x600 as stored is 600x800 as seen
    assert (prepared.width, prepared.height) == (600, 800)
    for made in (prepared.served, prepared.thumbnail):
        with Image.open(io.BytesIO(made)) as image:
            assert image.format == "JPEG"
            exif = image.getexif()
            assert GPS_IFD not in exif and not exif.get_ifd(GPS_IFD)
            assert ORIENTATION not in exif  # applied, so nothing left to say
            assert "xmp" not in image.info and "exif" not in image.info
        assert b"GPSLatitude" not in made and b"PhoneMaker" not in made
    with Image.open(io.BytesIO(prepared.served)) as served:
        assert served.size == (600, 800)
        assert served.getpixel((550, 20))[0] > 150  # the red corner turned to the top right
    with Image.open(io.BytesIO(prepared.thumbnail)) as thumbnail:
        assert max(thumbnail.size) <= photos.THUMBNAIL_PX and thumbnail.size == (240, 320)


def test_png_text_and_exif_are_dropped_and_transparency_kept() -> None:
    info = PngInfo()
    info.add_text("Location", "31.869N 117.304E")
    exif = Image.Exif()
    exif[GPS_IFD] = {1: "N", 2: (31.0, 52.0, 10.5)}
    data = png((400, 300), "RGBA", pnginfo=info, exif=exif)
    prepared = photos.prepare_photo(data, SETTINGS)
    with Image.open(io.BytesIO(prepared.served)) as served:
        assert served.mode == "RGBA" and "Location" not in served.info
        assert not served.getexif()
    assert b"117.304E" not in prepared.served
    with Image.open(io.BytesIO(prepared.thumbnail)) as thumbnail:
        assert thumbnail.format == "JPEG" and thumbnail.size == (320, 240)


def test_webp_is_taken() -> None:
    out = io.BytesIO()
    Image.new("RGB", (500, 500), "blue").save(out, "WEBP")
    prepared = photos.prepare_photo(out.getvalue(), SETTINGS, "x.webp")
    assert prepared.content_type == "image/webp"
    assert Image.open(io.BytesIO(prepared.served)).format == "WEBP"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("report.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"),
        ("photo.jpg", "这其实是一段文字，不是照片".encode()),
        ("photo.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
    ],
)
def test_what_is_not_jpeg_png_or_webp_is_refused_whatever_its_name(name: str, data: bytes) -> None:
    with pytest.raises(UnsupportedMediaTypeError, match="not a JPEG, PNG or WebP") as caught:
        photos.prepare_photo(data, SETTINGS, name)
    assert name in caught.value.message


def test_a_damaged_image_is_refused() -> None:
    data = jpeg_with_gps()
    with pytest.raises(InvalidInputError, match="damaged or cut short"):
        photos.prepare_photo(data[: len(data) // 2], SETTINGS, "cut.jpg")
    with pytest.raises(InvalidInputError, match="empty"):
        photos.prepare_photo(b"", SETTINGS, "none.jpg")


def test_too_many_bytes_is_refused() -> None:
    small = PhotoSettings(photo_max_bytes=2048)
    data = jpeg_with_gps()
    assert len(data) > 2048
    with pytest.raises(TooLargeError, match=f"is {len(data)} bytes but .* at most 2048 bytes"):
        photos.prepare_photo(data, small)


def test_decompression_bombs_are_refused_before_decoding() -> None:
    # 8000 x 8000 one-bit pixels: 64 million, over the 50 million default, in ~10 kB
    bomb = png((8000, 8000), "1")
    assert len(bomb) < 100_000
    with pytest.raises(TooLargeError, match="8000x8000 = 64000000 pixels"):
        photos.prepare_photo(bomb, SETTINGS, "bomb.png")
    # a header claiming 900 million pixels: Pillow itself refuses to open it
    with pytest.raises(TooLargeError, match="too many pixels"):
        photos.prepare_photo(png_claiming(30_000, 30_000), SETTINGS, "liar.png")
    # and one just under our limit with a lying header: damaged, not decoded past its data
    with pytest.raises(InvalidInputError, match="damaged"):
        photos.prepare_photo(png_claiming(4000, 4000), SETTINGS, "short.png")


# --- stored with cases ---


@pytest.fixture(scope="module")
def engine(server: Any, demo_template: str) -> Iterator[Engine]:
    engine = create_engine(server.database("photos", template=demo_template))
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def snap(engine: Engine) -> snapshot.Snapshot:
    with engine.connect() as conn:
        release = conn.execute(text("SELECT max(id) FROM boundary_release")).scalar()
        return snapshot.build(conn, release)


def new_case(conn: Connection, snap: snapshot.Snapshot, category: str = "E0102") -> int:
    lon, lat = conn.execute(
        text("SELECT ST_X(point), ST_Y(point) FROM compound ORDER BY id LIMIT 1")
    ).one()
    report = CaseReport(
        category=category, description="路边堆放垃圾", lon=lon, lat=lat, crs="cgcs2000"
    )
    case, _ = cases.create_case(conn, snap, report, "wang", CaseSettings())
    return case.id


def to_in_progress(conn: Connection, case_id: int) -> None:
    for status in ("accepted", "dispatched", "in_progress"):
        cases.transition(conn, case_id, status, "wang")


def add(conn: Connection, case_id: int, data: bytes, stage: str) -> tuple[photos.Photo, bool]:
    return photos.add_photo(conn, case_id, data, stage=stage, actor="wang", settings=SETTINGS)


def test_the_shipped_catalogue_requires_after_photos_for_a_few_classes(engine: Engine) -> None:
    with engine.connect() as conn:
        required = photos.after_photo_categories(conn)
    assert {"E0103", "E0502", "C0102"} <= required
    assert not {"E0102", "E0601"} & required  # a neighbours' dispute has nothing to photograph


def test_a_case_needing_an_after_photo_is_handled_only_with_one(
    engine: Engine, snap: snapshot.Snapshot
) -> None:
    with engine.begin() as conn:
        case_id = new_case(conn, snap, "E0103")  # 积存垃圾渣土
        to_in_progress(conn, case_id)
        add(conn, case_id, jpeg_with_gps(orientation=1), "before")
    with engine.begin() as conn, pytest.raises(AfterPhotoRequiredError, match="E0103") as caught:
        cases.transition(conn, case_id, "handled", "wang")
    assert caught.value.details["rule"] == "requires_after_photo"
    with engine.begin() as conn:
        assert cases.get_case(conn, case_id).status == "in_progress"  # nothing changed
        add(conn, case_id, jpeg_with_gps((640, 480)), "after")
        assert cases.transition(conn, case_id, "handled", "wang").status == "handled"
        kinds = [e["kind"] for e in cases.get_case(conn, case_id, with_events=True).events]
    assert kinds.count("photo") == 2


def test_a_category_without_the_rule_is_handled_without_photos(
    engine: Engine, snap: snapshot.Snapshot
) -> None:
    with engine.begin() as conn:
        case_id = new_case(conn, snap, "E0503")
        to_in_progress(conn, case_id)
        assert cases.transition(conn, case_id, "handled", "wang").status == "handled"
    with engine.connect() as conn:  # rolled back: the rule holds in this block only
        photos.require_after_photo(conn, "E0503")
        other = new_case(conn, snap, "E0503")
        to_in_progress(conn, other)
        with pytest.raises(AfterPhotoRequiredError):
            cases.transition(conn, other, "handled", "wang")
        with pytest.raises(NotFoundError):
            photos.require_after_photo(conn, "E9999")


def test_the_same_bytes_are_stored_once_per_case(engine: Engine, snap: snapshot.Snapshot) -> None:
    data = jpeg_with_gps((320, 200))
    with engine.begin() as conn:
        case_id = new_case(conn, snap)
        first, created = add(conn, case_id, data, "report")
        again, created_again = add(conn, case_id, data, "report")
        assert created and not created_again and again == first
        stored = conn.execute(
            text("SELECT count(*) FROM case_photo WHERE case_id = :c"), {"c": case_id}
        ).scalar()
        assert stored == 1
        # the report's own photo is no evidence of the work done
        with pytest.raises(ConflictError, match=f"photo {first.id} of case {case_id}"):
            add(conn, case_id, data, "after")
    with engine.begin() as conn:
        other = new_case(conn, snap)
        copy, created = add(conn, other, data, "report")  # another case keeps its own
        assert created and copy.id != first.id and copy.sha256 == first.sha256


def test_a_photo_belongs_to_its_case(engine: Engine, snap: snapshot.Snapshot) -> None:
    with engine.begin() as conn:
        case_id, other = new_case(conn, snap), new_case(conn, snap)
        photo, _ = add(conn, case_id, png(), "report")
        listed = photos.list_photos(conn, case_id)
        assert [p.id for p in listed] == [photo.id] and photos.list_photos(conn, other) == []
        content, kind = photos.photo_content(conn, case_id, photo.id, "original")
        assert kind == "image/png" and content == png()
        with pytest.raises(NotFoundError, match=f"case {other} has no photo {photo.id}"):
            photos.photo_content(conn, other, photo.id)
        with pytest.raises(NotFoundError):
            photos.list_photos(conn, 10**12)
        with pytest.raises(NotFoundError):
            add(conn, 10**12, png(), "report")


def test_a_closed_or_void_case_takes_no_photos_and_a_bad_stage_is_named(
    engine: Engine, snap: snapshot.Snapshot
) -> None:
    with engine.begin() as conn:
        case_id = new_case(conn, snap)
        cases.transition(conn, case_id, "void", "wang", "重复上报")
        with pytest.raises(ConflictError, match="void"):
            add(conn, case_id, png(), "report")
        with pytest.raises(InvalidInputError, match=r"stage was \"during\""):
            add(conn, case_id, png(), "during")


def test_backup_and_restore_keep_photos(
    engine: Engine, snap: snapshot.Snapshot, server: Any, tmp_path: Path
) -> None:
    data = jpeg_with_gps((333, 222))
    with engine.begin() as conn:
        case_id = new_case(conn, snap)
        photo, _ = add(conn, case_id, data, "report")
    dump = backup.backup(engine.url.render_as_string(hide_password=False), tmp_path / "g.dump")
    restored_url = server.database("photos_restored")
    backup.restore(restored_url, dump)
    restored = create_engine(restored_url)
    with restored.connect() as conn:
        content, _ = photos.photo_content(conn, case_id, photo.id, "original")
        thumbnail, kind = photos.photo_content(conn, case_id, photo.id, "thumbnail")
    restored.dispose()
    assert content == data and kind == "image/jpeg" and thumbnail.startswith(b"\xff\xd8")


def test_the_command_line_sets_the_rule(engine: Engine) -> None:
    from tests.cli.test_main import run

    url = engine.url.render_as_string(hide_password=False)
    code, _, err = run(url, "cases", "after-photo", "e0601")
    assert code == 0, err
    with engine.connect() as conn:
        assert "E0601" in photos.after_photo_categories(conn)
    assert run(url, "cases", "after-photo", "E0601", "--not-required")[0] == 0
    with engine.connect() as conn:
        assert "E0601" not in photos.after_photo_categories(conn)
    code, _, err = run(url, "cases", "after-photo", "E9999")
    assert code == 1 and "E9999" in err
