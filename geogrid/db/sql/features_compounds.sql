-- One page of compounds, keyset-paged by id, with the number matched. A compound belongs to
-- the grid of release :release that holds its point-on-surface (docs/architecture.md, "Storage"); a point
-- on a shared edge goes to the smallest grid code (the locator's tie-break), so a compound has
-- exactly one grid. :q, when given, keeps compounds whose name holds it (case-insensitive).
WITH located AS (
    SELECT cp.id, cp.name, cp.kind, cp.households, cp.population, cp.smart_safe, cp.three_no,
           holder.grid_code, holder.grid_name, holder.community_code, holder.community_name,
           cp.geom, cp.point
    FROM compound cp
    LEFT JOIN LATERAL (
        SELECT g.code AS grid_code, g.name AS grid_name, g.community_code,
               c.name AS community_name
        FROM grid_geometry_in(:release) gg
        JOIN grid g ON g.code = gg.grid_code
        JOIN community c ON c.code = g.community_code
        WHERE ST_Covers(gg.geom, cp.point)
        ORDER BY g.code
        LIMIT 1
    ) AS holder ON true
    WHERE (:kind IS NULL OR cp.kind = :kind)
      AND (:q IS NULL OR strpos(lower(cp.name), lower(:q)) > 0)
      AND (:smart_safe IS NULL OR cp.smart_safe = :smart_safe)
      AND (:three_no IS NULL OR cp.three_no = :three_no)
      AND (:minlon IS NULL
           OR ST_Intersects(cp.geom, ST_MakeEnvelope(:minlon, :minlat, :maxlon, :maxlat, 4490)))
), matched AS (
    SELECT * FROM located WHERE :community IS NULL OR community_code = :community
)
SELECT total.number_matched, page.*
FROM (SELECT count(*) AS number_matched FROM matched) AS total
LEFT JOIN LATERAL (
    SELECT m.id, m.name, m.kind, m.households, m.population, m.smart_safe, m.three_no,
           m.grid_code, m.grid_name, m.community_code, m.community_name,
           ST_AsBinary(m.geom) AS wkb, ST_AsBinary(m.point) AS point_wkb
    FROM matched AS m
    WHERE :after IS NULL OR m.id > :after
    ORDER BY m.id
    LIMIT :fetch
) AS page ON true
