-- A station without a community takes the one that holds its point.
INSERT INTO station (id, name, kind, community_code, opening_hours, address, geom)
OVERRIDING SYSTEM VALUE
SELECT coalesce(:id, nextval(pg_get_serial_sequence('station', 'id'))), :name, :kind,
       coalesce(:community_code,
                (SELECT c.code FROM community c
                 WHERE ST_Covers(c.geom, ST_GeomFromWKB(:wkb, 4490)) ORDER BY c.code LIMIT 1)),
       :opening_hours, :address, ST_GeomFromWKB(:wkb, 4490)
