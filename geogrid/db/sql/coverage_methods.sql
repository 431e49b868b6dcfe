-- How the stored service areas of tier :minutes were drawn, per station kind.
SELECT s.kind, sa.method, sa.distance_m, sa.detour_factor, count(*) AS stations
FROM service_area sa
JOIN station s ON s.id = sa.station_id
WHERE sa.minutes = :minutes AND s.kind = ANY(CAST(:kinds AS text[]))
GROUP BY s.kind, sa.method, sa.distance_m, sa.detour_factor
ORDER BY s.kind, sa.method, sa.distance_m, sa.detour_factor
