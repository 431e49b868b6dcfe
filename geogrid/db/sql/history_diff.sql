-- The grids that differ between release :old and release :new. A grid whose geometry row is
-- the same in both is unchanged; one with a row in both but different rows changed, and its
-- changed area is the symmetric difference: gained (in new, not old) and lost (in old, not
-- new), polygons only, measured in EPSG:4548 metres. Grid names are not versioned: the
-- current name is given.
WITH old AS (
    SELECT id, grid_code, geom FROM grid_geometry_in(:old)
),
new AS (
    SELECT id, grid_code, geom FROM grid_geometry_in(:new)
),
differing AS (
    SELECT coalesce(n.grid_code, o.grid_code) AS code,
           o.id AS old_id, n.id AS new_id,
           ST_CollectionExtract(ST_Difference(n.geom, o.geom), 3) AS gained,
           ST_CollectionExtract(ST_Difference(o.geom, n.geom), 3) AS lost,
           o.geom AS old_geom, n.geom AS new_geom
    FROM old AS o
    FULL JOIN new AS n ON n.grid_code = o.grid_code
    WHERE o.id IS DISTINCT FROM n.id
)
SELECT d.code, g.name, d.old_id, d.new_id,
       ST_Area(ST_Transform(d.old_geom, 4548)) AS old_area_m2,
       ST_Area(ST_Transform(d.new_geom, 4548)) AS new_area_m2,
       ST_Area(ST_Transform(d.gained, 4548)) AS gained_m2,
       ST_Area(ST_Transform(d.lost, 4548)) AS lost_m2,
       CASE WHEN NOT ST_IsEmpty(d.gained) THEN ST_AsBinary(d.gained) END AS gained_wkb,
       CASE WHEN NOT ST_IsEmpty(d.lost) THEN ST_AsBinary(d.lost) END AS lost_wkb
FROM differing AS d
JOIN grid AS g ON g.code = d.code
ORDER BY d.code
