-- A digest of everything a coverage figure is computed from, apart from the grid geometry of
-- a release (never changed once published; its content hash stands for it). Cheap (a few ms
-- on the demo), so a cached figure is checked against it on every request.
SELECT md5(concat_ws('|',
    (SELECT content_hash FROM boundary_release WHERE id = :release),
    (SELECT md5(string_agg(concat_ws(',', id, kind, md5(ST_AsBinary(geom))), ';' ORDER BY id))
     FROM station),
    (SELECT md5(string_agg(concat_ws(',', station_id, minutes, method, distance_m, detour_factor,
                                     md5(ST_AsBinary(geom))), ';' ORDER BY station_id, minutes))
     FROM service_area WHERE minutes = ANY(CAST(:tiers AS int[]))),
    (SELECT md5(string_agg(concat_ws(',', id, name, households, md5(ST_AsBinary(point))), ';'
                           ORDER BY id))
     FROM compound),
    (SELECT md5(string_agg(concat_ws(',', compound_id, md5(ST_AsBinary(geom))), ';'
                           ORDER BY compound_id, id))
     FROM compound_gate),
    (SELECT md5(string_agg(concat_ws(',', code, name, md5(ST_AsBinary(geom))), ';'
                           ORDER BY code))
     FROM (SELECT code::text, name, geom FROM district
           UNION ALL SELECT code::text, name, geom FROM street
           UNION ALL SELECT code::text, name, geom FROM community) fixed),
    (SELECT md5(string_agg(concat_ws(',', code, name), ';' ORDER BY code)) FROM grid)
)) AS fingerprint
