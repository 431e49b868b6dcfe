-- The service areas a coverage figure counts (EPSG:4490), inlined as the CTE "circles" by
-- geogrid.coverage. Each kind in :kinds counts at its tier in :tiers (pairs with :kinds):
-- either the stored areas of that tier (:drawn false), or circles drawn now from station
-- points, in metres (EPSG:4548), exactly as service_areas.sql draws them (:drawn true; :radii_m
-- pairs with :kinds).
SELECT s.id AS station_id, s.kind, sa.geom
FROM service_area sa
JOIN station s ON s.id = sa.station_id
JOIN unnest(CAST(:kinds AS text[]), CAST(:tiers AS int[]), CAST(:radii_m AS float8[]))
  AS k (kind, minutes, radius_m)
  ON k.kind = s.kind AND sa.minutes = k.minutes
WHERE NOT :drawn
UNION ALL
SELECT s.id, s.kind,
       ST_Multi(ST_Transform(ST_Buffer(ST_Transform(s.geom, 4548), k.radius_m, 16), 4490))
FROM station s
JOIN unnest(CAST(:kinds AS text[]), CAST(:tiers AS int[]), CAST(:radii_m AS float8[]))
  AS k (kind, minutes, radius_m)
  ON k.kind = s.kind
WHERE :drawn
