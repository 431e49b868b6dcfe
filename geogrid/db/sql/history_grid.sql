-- Every geometry grid :code has had, oldest first, with its validity in releases and real
-- timestamps ([valid_from, valid_to)), its area in EPSG:4548 metres, and who published the
-- release that made it and why, and the plan that published it (null for loads).
SELECT h.id, h.valid_from_release, h.valid_to_release, h.valid_from, h.valid_to,
       ST_Area(ST_Transform(h.geom, 4548)) AS area_m2,
       ST_AsBinary(h.geom) AS wkb,
       b.published_by, b.comment,
       p.id AS plan_id, p.comment AS plan_comment
FROM grid_geometry_history AS h
JOIN boundary_release AS b ON b.id = h.valid_from_release
LEFT JOIN plan AS p ON p.id = b.plan_id
WHERE h.grid_code = :code
ORDER BY h.valid_from_release
