-- Communities for OGC API - Features (fixed data: valid at every moment).
SELECT c.code AS fid, c.code AS code, c.name,
       c.street_code AS street_code, s.name AS street_name, c.geom
FROM community c
JOIN street s ON s.code = c.street_code
