-- Circle service areas: the tier's walking distance over the detour factor, drawn in metres
-- (EPSG:4548) and stored in EPSG:4490.
INSERT INTO service_area (station_id, minutes, method, distance_m, detour_factor, geom)
SELECT s.id, :minutes, 'circle', :distance_m, :detour_factor,
       ST_Multi(ST_Transform(ST_Buffer(ST_Transform(s.geom, 4548),
                                       :distance_m / :detour_factor, 16), 4490))
FROM station s
WHERE s.kind = :kind
