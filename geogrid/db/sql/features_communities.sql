-- One page of communities, keyset-paged by code, with the number matched.
WITH matched AS (
    SELECT c.code, c.name, c.street_code, s.name AS street_name, c.geom
    FROM community c
    JOIN street s ON s.code = c.street_code
    WHERE (:street IS NULL OR c.street_code = :street)
      AND (:minlon IS NULL
           OR ST_Intersects(c.geom, ST_MakeEnvelope(:minlon, :minlat, :maxlon, :maxlat, 4490)))
)
SELECT total.number_matched, page.*
FROM (SELECT count(*) AS number_matched FROM matched) AS total
LEFT JOIN LATERAL (
    SELECT m.code, m.name, m.street_code, m.street_name, ST_AsBinary(m.geom) AS wkb
    FROM matched AS m
    WHERE :after IS NULL OR m.code > :after
    ORDER BY m.code
    LIMIT :fetch
) AS page ON true
