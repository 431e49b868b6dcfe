-- A unit's record over the cases a CaseFilter selects (the district's monthly evaluation):
-- the "by" parameter is grid, community or street. Handling hours are those of closed cases, from
-- acceptance to closure, time on hold not counted (case_view.handling_hours_taken).
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
       count(*) FILTER (WHERE overdue) AS overdue,
       count(*) FILTER (WHERE status = 'void') AS void
FROM chosen
GROUP BY unit_code
ORDER BY unit_code
