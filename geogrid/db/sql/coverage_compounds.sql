-- Every compound with the grid of :release holding its point-on-surface (docs/architecture.md,
-- "Storage": one rule for every count) and whether a counted service area reaches it,
-- measured as the life-circle standard measures it: from its nearest gate when it has gates
-- (compound_gate), else from the nearest point of its footprint ("measured_from" names the
-- rule). A point on a shared grid edge goes to the lowest grid code among the grids that
-- cover it; a point in no grid (outside the district) has no grid.
WITH circles AS MATERIALIZED (
/*circles*/
),
gates AS MATERIALIZED (
    SELECT compound_id, ST_Collect(geom) AS geom FROM compound_gate GROUP BY compound_id
)
SELECT c.id, c.name, c.households, ST_X(c.point) AS lon, ST_Y(c.point) AS lat,
       g.grid_code,
       CASE WHEN gt.geom IS NULL THEN 'footprint' ELSE 'gate' END AS measured_from,
       EXISTS (
           SELECT 1 FROM circles a
           WHERE ST_Intersects(a.geom, coalesce(gt.geom, c.geom))
       ) AS covered
FROM compound c
LEFT JOIN gates gt ON gt.compound_id = c.id
LEFT JOIN LATERAL (
    SELECT trim(gg.grid_code) AS grid_code
    FROM grid_geometry_in(:release) gg
    WHERE ST_Covers(gg.geom, c.point)
    ORDER BY gg.grid_code
    LIMIT 1
) g ON true
ORDER BY c.id
