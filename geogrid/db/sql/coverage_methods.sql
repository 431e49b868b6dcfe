-- How the stored service areas counted were drawn, per station kind at its tier (:tiers pairs
-- with :kinds).
SELECT s.kind, sa.minutes, sa.method, sa.distance_m, sa.detour_factor, count(*) AS stations
FROM service_area sa
JOIN station s ON s.id = sa.station_id
JOIN unnest(CAST(:kinds AS text[]), CAST(:tiers AS int[])) AS k (kind, minutes)
  ON k.kind = s.kind AND sa.minutes = k.minutes
GROUP BY s.kind, sa.minutes, sa.method, sa.distance_m, sa.detour_factor
ORDER BY s.kind, sa.minutes, sa.method, sa.distance_m, sa.detour_factor
