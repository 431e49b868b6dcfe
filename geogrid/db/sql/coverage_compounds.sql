-- Every compound with the grid of :release holding its point-on-surface (docs/architecture.md, "Storage": one rule
-- for every count) and whether that point lies in a counted service area. A point on a shared
-- grid edge goes to the lowest grid code among the grids that cover it; a point in no grid
-- (outside the district) has no grid.
WITH circles AS MATERIALIZED (
/*circles*/
)
SELECT c.id, c.name, c.households, ST_X(c.point) AS lon, ST_Y(c.point) AS lat,
       g.grid_code,
       EXISTS (SELECT 1 FROM circles a WHERE ST_Covers(a.geom, c.point)) AS covered
FROM compound c
LEFT JOIN LATERAL (
    SELECT trim(gg.grid_code) AS grid_code
    FROM grid_geometry_in(:release) gg
    WHERE ST_Covers(gg.geom, c.point)
    ORDER BY gg.grid_code
    LIMIT 1
) g ON true
ORDER BY c.id
