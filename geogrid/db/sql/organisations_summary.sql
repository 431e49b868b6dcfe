-- The organisations of an area (:area a street or community code, NULL the district) as they
-- served at :at, over the grids of release :release. A compound belongs to the grid of the
-- release that holds its point-on-surface, the smallest code on a shared edge (docs/architecture.md,
-- "Storage"); a grid, compound or community is in the area when its code starts with :area.
WITH grids AS (
    SELECT g.code, g.kind
    FROM grid_geometry_in(:release) gg
    JOIN grid g ON g.code = gg.grid_code
    WHERE CAST(:area AS text) IS NULL OR left(g.code, length(CAST(:area AS text))) = CAST(:area AS text)
), compounds AS (
    SELECT cp.id, holder.grid_code
    FROM compound cp
    JOIN LATERAL (
        SELECT gg.grid_code FROM grid_geometry_in(:release) gg
        WHERE ST_Covers(gg.geom, cp.point)
        ORDER BY gg.grid_code
        LIMIT 1
    ) AS holder ON true
    WHERE CAST(:area AS text) IS NULL OR left(holder.grid_code, length(CAST(:area AS text))) = CAST(:area AS text)
), communities AS (
    SELECT code FROM community WHERE CAST(:area AS text) IS NULL OR left(code, length(CAST(:area AS text))) = CAST(:area AS text)
), staff AS (
    SELECT s.role FROM org_grid_staff s JOIN grids ON grids.code = s.grid_code
    WHERE org_valid_at(s.valid_from, s.valid_to, :at)
), branches AS (
    SELECT b.grid_code FROM org_party_branch b JOIN grids ON grids.code = b.grid_code
    WHERE org_valid_at(b.valid_from, b.valid_to, :at)
), teams AS (
    SELECT t.id, t.compound_ids FROM org_volunteer_team t
    WHERE org_valid_at(t.valid_from, t.valid_to, :at)
      AND (CAST(:area AS text) IS NULL OR EXISTS (SELECT 1 FROM compounds c WHERE c.id = ANY (t.compound_ids)))
), covered AS (
    SELECT DISTINCT c.id FROM compounds c JOIN teams t ON c.id = ANY (t.compound_ids)
), law AS (
    SELECT l.community_codes FROM org_law_member l
    WHERE org_valid_at(l.valid_from, l.valid_to, :at)
      AND (CAST(:area AS text) IS NULL OR EXISTS (
          SELECT 1 FROM unnest(l.community_codes) AS cc WHERE left(cc, length(CAST(:area AS text))) = CAST(:area AS text)))
), platforms AS (
    SELECT p.grid_codes FROM org_platform p
    WHERE org_valid_at(p.valid_from, p.valid_to, :at)
      AND (CAST(:area AS text) IS NULL OR EXISTS (
          SELECT 1 FROM unnest(p.grid_codes) AS gc WHERE left(gc, length(CAST(:area AS text))) = CAST(:area AS text)))
), mobile AS (
    SELECT m.mobile_grid, m.street_code FROM org_mobile_member m
    WHERE org_valid_at(m.valid_from, m.valid_to, :at)
      AND (CAST(:area AS text) IS NULL OR m.street_code = CAST(:area AS text))
)
SELECT
    (SELECT count(*) FROM grids) AS grids,
    (SELECT count(*) FROM grids WHERE kind = 'resident') AS resident_grids,
    (SELECT count(*) FROM compounds) AS compounds,
    (SELECT count(*) FROM communities) AS communities,
    (SELECT count(*) FROM staff WHERE role = 'leader') AS grid_leaders,
    (SELECT count(*) FROM staff WHERE role = 'full_time') AS full_time_grid_workers,
    (SELECT count(*) FROM staff WHERE role = 'part_time') AS part_time_grid_workers,
    (SELECT count(*) FROM branches) AS party_branches,
    (SELECT count(*) FROM org_building_group b JOIN compounds c ON c.id = b.compound_id
     WHERE org_valid_at(b.valid_from, b.valid_to, :at)) AS building_party_groups,
    (SELECT count(*) FROM org_party_household h JOIN compounds c ON c.id = h.compound_id
     WHERE org_valid_at(h.valid_from, h.valid_to, :at)) AS party_member_households,
    (SELECT count(*) FROM teams) AS volunteer_teams,
    (SELECT count(*) FROM org_volunteer_member m JOIN teams t ON t.id = m.team_id)
        AS volunteer_members,
    (SELECT count(*) FROM covered) AS compounds_with_volunteer_team,
    (SELECT count(*) FROM law) AS law_grid_members,
    (SELECT count(*) FROM communities c
     WHERE EXISTS (SELECT 1 FROM law WHERE c.code = ANY (law.community_codes)))
        AS communities_with_law_member,
    (SELECT count(*) FROM platforms) AS consultation_platforms,
    (SELECT count(*) FROM grids g WHERE g.kind = 'resident'
       AND EXISTS (SELECT 1 FROM platforms p WHERE g.code = ANY (p.grid_codes)))
        AS resident_grids_with_platform,
    (SELECT count(DISTINCT (street_code, mobile_grid)) FROM mobile) AS mobile_grids,
    (SELECT count(*) FROM mobile) AS mobile_grid_members
