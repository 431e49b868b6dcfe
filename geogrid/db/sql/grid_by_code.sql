SELECT g.code, g.name, g.kind, g.dedicated_unit_name, g.dedicated_unit_type,
       g.community_code, c.name AS community_name, c.street_code, s.name AS street_name,
       gp.leader_name, gp.leader_phone, gp.party_branch_name,
       gp.party_secretary_name, gp.party_secretary_phone, ST_AsBinary(gg.geom) AS wkb
FROM grid g
JOIN grid_geometry_in(:release) gg ON gg.grid_code = g.code
JOIN community c ON c.code = g.community_code
JOIN street s ON s.code = c.street_code
LEFT JOIN grid_people gp ON gp.grid_code = g.code
WHERE g.code = :code
