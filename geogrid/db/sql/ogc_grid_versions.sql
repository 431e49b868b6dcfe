-- Every version of every grid valid at some moment of [:start, :end) (either end NULL = open),
-- for OGC API - Features datetime intervals. fid is code@valid_from_release.
SELECT g.code || '@' || gg.valid_from_release AS fid, g.code AS code, g.name,
       g.kind, g.dedicated_unit_name, g.dedicated_unit_type,
       g.community_code AS community_code, c.name AS community_name,
       c.street_code AS street_code, s.name AS street_name,
       gp.leader_name, gp.leader_phone, gp.party_branch_name,
       gp.party_secretary_name, gp.party_secretary_phone,
       gg.valid_from_release AS release,
       gg.valid_from_release, gg.valid_to_release,
       f.published_at AS valid_from, t.published_at AS valid_to, gg.geom
FROM grid_geometry gg
JOIN grid g ON g.code = gg.grid_code
LEFT JOIN grid_people gp ON gp.grid_code = g.code
JOIN community c ON c.code = g.community_code
JOIN street s ON s.code = c.street_code
JOIN boundary_release f ON f.id = gg.valid_from_release
LEFT JOIN boundary_release t ON t.id = gg.valid_to_release
WHERE (CAST(:end AS timestamptz) IS NULL OR f.published_at < CAST(:end AS timestamptz))
  AND (CAST(:start AS timestamptz) IS NULL OR t.published_at IS NULL
       OR t.published_at > CAST(:start AS timestamptz))
