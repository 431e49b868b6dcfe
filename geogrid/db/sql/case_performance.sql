-- A unit's record over the cases a CaseFilter selects (the district's monthly evaluation):
-- the "by" parameter is grid, community or street. A unit is charged only its own time: handling
-- hours are the 处置 hours its grids held each closed case (case_duty, on the case's clock: not
-- the centre's 立案, 派遣 and 核查, not time on hold), on time means reported handled by the 处置
-- due time, and overdue counts open cases past the limit of their 处置 stage only.
WITH chosen AS (
    SELECT *,
           CASE :by WHEN 'grid' THEN CAST(grid_code AS text)
                    WHEN 'community' THEN CAST(community_code AS text)
                    ELSE CAST(street_code AS text) END AS unit_code,
           CASE :by WHEN 'grid' THEN grid_name
                    WHEN 'community' THEN community_name
                    ELSE street_name END AS unit_name
    FROM case_view
    WHERE {filter}
)
SELECT unit_code, min(unit_name) AS unit_name,
       count(*) AS cases,
       count(*) FILTER (WHERE status = 'closed') AS closed,
       count(*) FILTER (WHERE closed_on_time) AS closed_on_time,
       count(handling_hours_taken) AS timed,
       avg(handling_hours_taken) AS mean_handling_hours,
       count(*) FILTER (WHERE status NOT IN ('closed', 'void')) AS open,
       count(*) FILTER (WHERE overdue AND stage = 'handle') AS overdue,
       count(*) FILTER (WHERE status = 'void') AS void
FROM chosen
GROUP BY unit_code
ORDER BY unit_code
