-- The organisations' coverage per street or community (:digits 9 or 12, the length of the
-- area's code) as the registers served at :at, over the grids of release :release: each
-- area's grids, resident grids, compounds and communities, and how many of them a party
-- branch, a consultation platform, a 小巷管家 team or a law member serves. The same rules as
-- organisations_summary.sql (a compound belongs to the grid holding its point-on-surface, the
-- smallest code on a shared edge; a unit is in the area its code starts with), so the areas
-- add up to the district's summary. Areas with nothing in them are answered with zeros.
WITH grids AS (
    SELECT g.code, g.kind
    FROM grid_geometry_in(:release) gg
    JOIN grid g ON g.code = gg.grid_code
), compounds AS (
    SELECT cp.id, holder.grid_code
    FROM compound cp
    JOIN LATERAL (
        SELECT gg.grid_code FROM grid_geometry_in(:release) gg
        WHERE ST_Covers(gg.geom, cp.point)
        ORDER BY gg.grid_code
        LIMIT 1
    ) AS holder ON true
), branched AS (
    SELECT DISTINCT b.grid_code FROM org_party_branch b
    WHERE org_valid_at(b.valid_from, b.valid_to, :at)
), with_platform AS (
    SELECT DISTINCT gc AS grid_code FROM org_platform p, unnest(p.grid_codes) AS gc
    WHERE org_valid_at(p.valid_from, p.valid_to, :at)
), teamed AS (
    SELECT DISTINCT ci AS compound_id FROM org_volunteer_team t, unnest(t.compound_ids) AS ci
    WHERE org_valid_at(t.valid_from, t.valid_to, :at)
), with_law AS (
    SELECT DISTINCT cc AS community_code FROM org_law_member l, unnest(l.community_codes) AS cc
    WHERE org_valid_at(l.valid_from, l.valid_to, :at)
), grid_figures AS (
    SELECT left(g.code, :digits) AS area,
           count(*) AS grids,
           count(b.grid_code) AS grids_with_branch,
           count(*) FILTER (WHERE g.kind = 'resident') AS resident_grids,
           count(p.grid_code) FILTER (WHERE g.kind = 'resident') AS resident_grids_with_platform
    FROM grids g
    LEFT JOIN branched b ON b.grid_code = g.code
    LEFT JOIN with_platform p ON p.grid_code = g.code
    GROUP BY 1
), compound_figures AS (
    SELECT left(c.grid_code, :digits) AS area,
           count(*) AS compounds,
           count(t.compound_id) AS compounds_with_volunteer_team
    FROM compounds c
    LEFT JOIN teamed t ON t.compound_id = c.id
    GROUP BY 1
), community_figures AS (
    SELECT left(cm.code, :digits) AS area,
           count(*) AS communities,
           count(l.community_code) AS communities_with_law_member
    FROM community cm
    LEFT JOIN with_law l ON l.community_code = cm.code
    GROUP BY 1
), areas AS (
    SELECT code, name FROM street WHERE :digits = 9
    UNION ALL
    SELECT code, name FROM community WHERE :digits = 12
)
SELECT
    trim(a.code) AS code,
    a.name,
    coalesce(gf.grids, 0) AS grids,
    coalesce(gf.grids_with_branch, 0) AS grids_with_branch,
    coalesce(gf.resident_grids, 0) AS resident_grids,
    coalesce(gf.resident_grids_with_platform, 0) AS resident_grids_with_platform,
    coalesce(cf.compounds, 0) AS compounds,
    coalesce(cf.compounds_with_volunteer_team, 0) AS compounds_with_volunteer_team,
    coalesce(mf.communities, 0) AS communities,
    coalesce(mf.communities_with_law_member, 0) AS communities_with_law_member
FROM areas a
LEFT JOIN grid_figures gf ON gf.area = a.code
LEFT JOIN compound_figures cf ON cf.area = a.code
LEFT JOIN community_figures mf ON mf.area = a.code
ORDER BY a.code
