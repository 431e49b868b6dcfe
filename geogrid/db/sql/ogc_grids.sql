-- The grids of boundary release :release, one row each, for OGC API - Features.
-- fid is the grid code; valid_from/valid_to are the real times of the geometry's release range.
SELECT g.code AS fid, g.code AS code, g.name, g.kind,
       g.dedicated_unit_name, g.dedicated_unit_type,
       g.community_code AS community_code, c.name AS community_name,
       c.street_code AS street_code, s.name AS street_name,
       gp.leader_name, gp.leader_phone, gp.party_branch_name,
       gp.party_secretary_name, gp.party_secretary_phone,
       CAST(:release AS integer) AS release,
       gg.valid_from_release, gg.valid_to_release,
       f.published_at AS valid_from, t.published_at AS valid_to, gg.geom
FROM grid_geometry_in(:release) gg
JOIN grid g ON g.code = gg.grid_code
LEFT JOIN grid_people gp ON gp.grid_code = g.code
JOIN community c ON c.code = g.community_code
JOIN street s ON s.code = c.street_code
JOIN boundary_release f ON f.id = gg.valid_from_release
LEFT JOIN boundary_release t ON t.id = gg.valid_to_release
