INSERT INTO district (code, name, geom)
VALUES (:code, :name, ST_Multi(ST_GeomFromWKB(:wkb, 4490)))
ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, geom = EXCLUDED.geom
