-- The grids of boundary release :release for vector tiles: codes, names and kind only (no
-- person: tiles are shared by every caller), with the community and street they lie in.
SELECT g.code AS code, g.name, g.kind,
       g.community_code AS community_code, c.name AS community_name,
       c.street_code AS street_code, s.name AS street_name,
       CAST(:release AS integer) AS release, gg.geom
FROM grid_geometry_in(:release) gg
JOIN grid g ON g.code = gg.grid_code
JOIN community c ON c.code = g.community_code
JOIN street s ON s.code = c.street_code
