-- Area reached and gap of every unit of one level (district, street, community, or the grids
-- of :release), measured in metres (EPSG:4548). Each unit is clipped against the union of only
-- the circles that touch it, which keeps the overlay small. Gaps come back in EPSG:4490.
WITH circles AS MATERIALIZED (
/*circles*/
),
reach AS MATERIALIZED (
    SELECT ST_Transform(geom, 4548) AS geom FROM circles
),
units AS (
    SELECT trim(code) AS code, name, ST_Transform(geom, 4548) AS geom
    FROM district WHERE :level = 'district'
    UNION ALL
    SELECT trim(code), name, ST_Transform(geom, 4548) FROM street WHERE :level = 'street'
    UNION ALL
    SELECT trim(code), name, ST_Transform(geom, 4548) FROM community WHERE :level = 'community'
    UNION ALL
    SELECT trim(g.code), g.name, ST_Transform(gg.geom, 4548)
    FROM grid_geometry_in(:release) gg
    JOIN grid g ON g.code = gg.grid_code
    WHERE :level = 'grid'
),
clipped AS MATERIALIZED (
    SELECT u.code, u.name, u.geom,
           (SELECT ST_Union(r.geom) FROM reach r WHERE ST_Intersects(r.geom, u.geom)) AS reach
    FROM units u
),
split AS MATERIALIZED (
    SELECT code, name, geom,
           CASE WHEN reach IS NULL THEN 0.0 ELSE ST_Area(ST_Intersection(geom, reach)) END
               AS covered_area_m2,
           ST_CollectionExtract(
               CASE WHEN reach IS NULL THEN geom ELSE ST_Difference(geom, reach) END, 3) AS gap
    FROM clipped
)
SELECT code, name, ST_Area(geom) AS area_m2, covered_area_m2, ST_Area(gap) AS gap_area_m2,
       ST_AsBinary(ST_Multi(ST_Transform(gap, 4490))) AS gap_wkb
FROM split
ORDER BY code
