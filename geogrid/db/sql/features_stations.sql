-- One page of service stations, keyset-paged by id, with the number matched.
WITH matched AS (
    SELECT st.id, st.name, st.kind, st.community_code, c.name AS community_name,
           st.opening_hours, st.address, st.geom
    FROM station st
    LEFT JOIN community c ON c.code = st.community_code
    WHERE (:kind IS NULL OR st.kind = :kind)
      AND (:community IS NULL OR st.community_code = :community)
      AND (:minlon IS NULL
           OR ST_Intersects(st.geom, ST_MakeEnvelope(:minlon, :minlat, :maxlon, :maxlat, 4490)))
)
SELECT total.number_matched, page.*
FROM (SELECT count(*) AS number_matched FROM matched) AS total
LEFT JOIN LATERAL (
    SELECT m.id, m.name, m.kind, m.community_code, m.community_name, m.opening_hours,
           m.address, ST_AsBinary(m.geom) AS wkb
    FROM matched AS m
    WHERE :after IS NULL OR m.id > :after
    ORDER BY m.id
    LIMIT :fetch
) AS page ON true
