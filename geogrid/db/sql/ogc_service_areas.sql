-- Service areas (one per station and tier) for OGC API - Features; fid is station-minutes.
SELECT a.station_id || '-' || a.minutes AS fid, a.station_id, s.name AS station_name,
       s.kind AS station_kind, CAST(a.minutes AS integer) AS minutes, a.method, a.distance_m,
       a.detour_factor, a.geom
FROM service_area a
JOIN station s ON s.id = a.station_id
