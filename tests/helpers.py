"""Small helpers shared by the tests."""

from __future__ import annotations

from sqlalchemy import Engine, text


def fingerprint(engine: Engine) -> str:
    """A digest of every stored row that a load or restore could change."""
    with engine.connect() as conn:
        return str(
            conn.execute(
                text("""
            SELECT md5(string_agg(t, '|' ORDER BY t)) FROM (
                SELECT concat_ws(',', 'g', grid_code, valid_from_release, valid_to_release,
                                 ST_AsText(geom)) AS t FROM grid_geometry
                UNION ALL SELECT concat_ws(',', 'r', id, content_hash) FROM boundary_release
                UNION ALL SELECT concat_ws(',', 'n', code, name, leader_name) FROM grid
                UNION ALL SELECT concat_ws(',', 'c', id, name, households, ST_AsText(geom))
                          FROM compound
                UNION ALL SELECT concat_ws(',', 's', id, name, kind, ST_AsText(geom)) FROM station
                UNION ALL SELECT concat_ws(',', 'a', station_id, minutes, ST_AsText(geom))
                          FROM service_area
                UNION ALL SELECT concat_ws(',', 'k', name, key_hash) FROM api_key
            ) s""")
            ).scalar_one()
        )


def count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())
