-- Service stations for OGC API - Features.
SELECT s.id AS fid, s.id, s.name, s.kind, s.community_code AS community_code,
       c.name AS community_name, s.opening_hours, s.address, s.geom
FROM station s
LEFT JOIN community c ON c.code = s.community_code
