-- Compounds for OGC API - Features, each with the grid of release :release holding its
-- point-on-surface (on a shared edge, the lower grid code, as everywhere).
SELECT p.id AS fid, p.id, p.name, p.kind, p.households, p.population, p.smart_safe,
       p.three_no, h.grid_code AS grid_code, h.grid_name,
       h.community_code AS community_code, h.community_name,
       CAST(:release AS integer) AS release, p.geom
FROM compound p
LEFT JOIN LATERAL (
    SELECT gg.grid_code, g.name AS grid_name, g.community_code, c.name AS community_name
    FROM grid_geometry_in(:release) gg
    JOIN grid g ON g.code = gg.grid_code
    JOIN community c ON c.code = g.community_code
    WHERE ST_Covers(gg.geom, p.point)
    ORDER BY gg.grid_code
    LIMIT 1
) h ON true
