-- The district outline for vector tiles (the base a map draws the grids on).
SELECT d.code AS code, d.name, d.geom
FROM district d
