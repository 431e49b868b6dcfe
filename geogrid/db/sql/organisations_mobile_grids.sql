-- The mobile grids (流动网格) as they served at :at, of street :street (NULL: every street):
-- each with its street, its leader, how many members (the leader among them) and party
-- members, and the cases its members reported (civic_case.mobile_grid, recorded at each
-- report's time) up to :at, and of those the ones open now.
WITH members AS (
    SELECT m.id, m.mobile_grid, m.street_code, m.role, m.party_member, m.name, m.phone
    FROM org_mobile_member m
    WHERE org_valid_at(m.valid_from, m.valid_to, :at)
      AND (CAST(:street AS text) IS NULL OR m.street_code = CAST(:street AS bpchar))
), grids AS (
    SELECT mobile_grid,
           min(street_code) AS street_code,  -- one street per mobile grid (a load checks it)
           count(*) AS members,
           count(*) FILTER (WHERE party_member) AS party_members,
           (array_agg(name ORDER BY id) FILTER (WHERE role = 'leader'))[1] AS leader_name,
           (array_agg(phone ORDER BY id) FILTER (WHERE role = 'leader'))[1] AS leader_phone
    FROM members
    GROUP BY mobile_grid
)
SELECT g.mobile_grid, g.street_code, s.name AS street_name, g.members, g.party_members,
       g.leader_name, g.leader_phone,
       coalesce(r.reports, 0) AS reports, coalesce(r.open_reports, 0) AS open_reports
FROM grids g
JOIN street s ON s.code = g.street_code
LEFT JOIN LATERAL (
    SELECT count(*) AS reports,
           count(*) FILTER (WHERE c.status NOT IN ('closed', 'void')) AS open_reports
    FROM civic_case c
    WHERE c.mobile_grid = g.mobile_grid AND c.created_at <= :at
) r ON true
ORDER BY g.street_code, g.mobile_grid
