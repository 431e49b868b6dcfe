-- The compounds no 小巷管家 team covered at :at, among those a grid of release :release holds
-- (its point-on-surface, as organisations_summary.sql counts them), so they number the
-- summary's compounds_without_volunteer_team.
SELECT cp.id
FROM compound cp
WHERE EXISTS (
    SELECT 1 FROM grid_geometry_in(:release) gg WHERE ST_Covers(gg.geom, cp.point)
)
AND NOT EXISTS (
    SELECT 1 FROM org_volunteer_team t
    WHERE cp.id = ANY (t.compound_ids) AND org_valid_at(t.valid_from, t.valid_to, :at)
)
ORDER BY cp.id
