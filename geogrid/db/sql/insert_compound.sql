INSERT INTO compound (id, name, kind, households, population, smart_safe, three_no, geom)
OVERRIDING SYSTEM VALUE
VALUES (coalesce(:id, nextval(pg_get_serial_sequence('compound', 'id'))), :name, :kind,
        :households, :population, :smart_safe, :three_no,
        ST_Multi(ST_GeomFromWKB(:wkb, 4490)))
