-- Grids of one release with what answers need about them (who serves them: the registers,
-- read by geogrid.organisations.serving).
SELECT g.code, g.name, g.kind, g.community_code, c.name AS community_name,
       c.street_code, s.name AS street_name, ST_AsBinary(gg.geom) AS wkb
FROM grid_geometry_in(:release) gg
JOIN grid g ON g.code = gg.grid_code
JOIN community c ON c.code = g.community_code
JOIN street s ON s.code = c.street_code
ORDER BY g.code
