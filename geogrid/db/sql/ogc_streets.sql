-- Streets, towns and development zones for OGC API - Features (fixed data).
SELECT s.code AS fid, s.code AS code, s.name, s.kind,
       s.district_code AS district_code, s.geom
FROM street s
