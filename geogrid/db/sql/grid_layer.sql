-- The grids of one release with their attributes, community and street.
SELECT g.code, g.community_code, c.street_code, g.name, g.kind,
       g.dedicated_unit_name, g.dedicated_unit_type,
       gp.leader_name, gp.leader_phone, gp.party_branch_name,
       gp.party_secretary_name, gp.party_secretary_phone,
       gg.valid_from_release, gg.geom AS geometry
FROM grid_geometry_in(:release) gg
JOIN grid g ON g.code = gg.grid_code
LEFT JOIN grid_people gp ON gp.grid_code = g.code
JOIN community c ON c.code = g.community_code
ORDER BY g.code
