-- One page of the grids of release :release, keyset-paged by code, with the number matched.
-- Optional filters are NULL when unused; :minlon.. is a storage (EPSG:4490) envelope.
WITH matched AS (
    SELECT g.code, g.name, g.kind, g.dedicated_unit_name, g.dedicated_unit_type,
           g.community_code, c.name AS community_name, c.street_code, s.name AS street_name,
           gp.leader_name, gp.leader_phone, gp.party_branch_name,
           gp.party_secretary_name, gp.party_secretary_phone, gg.geom
    FROM grid_geometry_in(:release) gg
    JOIN grid g ON g.code = gg.grid_code
    LEFT JOIN grid_people gp ON gp.grid_code = g.code
    JOIN community c ON c.code = g.community_code
    JOIN street s ON s.code = c.street_code
    WHERE (:community IS NULL OR g.community_code = :community)
      AND (:street IS NULL OR c.street_code = :street)
      AND (:kind IS NULL OR g.kind = :kind)
      AND (:minlon IS NULL
           OR ST_Intersects(gg.geom, ST_MakeEnvelope(:minlon, :minlat, :maxlon, :maxlat, 4490)))
)
SELECT total.number_matched, page.*
FROM (SELECT count(*) AS number_matched FROM matched) AS total
LEFT JOIN LATERAL (
    SELECT m.code, m.name, m.kind, m.dedicated_unit_name, m.dedicated_unit_type,
           m.community_code, m.community_name, m.street_code, m.street_name,
           m.leader_name, m.leader_phone, m.party_branch_name,
           m.party_secretary_name, m.party_secretary_phone, ST_AsBinary(m.geom) AS wkb
    FROM matched AS m
    WHERE :after IS NULL OR m.code > :after
    ORDER BY m.code
    LIMIT :fetch
) AS page ON true
