INSERT INTO community (code, name, street_code, geom)
VALUES (:code, :name, :street, ST_Multi(ST_GeomFromWKB(:wkb, 4490)))
ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, geom = EXCLUDED.geom
