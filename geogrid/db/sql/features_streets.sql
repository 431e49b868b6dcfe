-- One page of streets, towns and development zones, keyset-paged by code.
WITH matched AS (
    SELECT s.code, s.name, s.kind, s.district_code, s.geom
    FROM street s
    WHERE :minlon IS NULL
       OR ST_Intersects(s.geom, ST_MakeEnvelope(:minlon, :minlat, :maxlon, :maxlat, 4490))
)
SELECT total.number_matched, page.*
FROM (SELECT count(*) AS number_matched FROM matched) AS total
LEFT JOIN LATERAL (
    SELECT m.code, m.name, m.kind, m.district_code, ST_AsBinary(m.geom) AS wkb
    FROM matched AS m
    WHERE :after IS NULL OR m.code > :after
    ORDER BY m.code
    LIMIT :fetch
) AS page ON true
