INSERT INTO street (code, name, kind, district_code, geom)
VALUES (:code, :name, :kind, :district, ST_Multi(ST_GeomFromWKB(:wkb, 4490)))
ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind, geom = EXCLUDED.geom
