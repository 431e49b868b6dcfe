-- A unit's record over the cases a CaseFilter selects (the district's monthly evaluation):
-- the "by" parameter is grid, community, street or department (a case with no department is
-- its grid's street office's, unit code null). A unit is charged only its own time: its
-- handling hours are the 处置 hours its grids held closed cases (case_duty spans, on each case's
-- clock: not the centre's 立案, 派遣 and 核查, not time on hold), so a case re-routed in 处置
-- charges each grid its own span; "timed" counts the closed cases it held. The case counts
-- (closed, on time: reported handled by the 处置 due time, open, overdue: past the limit of
-- the 处置 stage only, void) go to the unit of the case's grid. all_timed: the closed cases
-- with any 处置 time, each once (the total's mean divides by it).
WITH chosen AS (
    SELECT *,
           CASE :by WHEN 'grid' THEN CAST(grid_code AS text)
                    WHEN 'community' THEN CAST(community_code AS text)
                    WHEN 'department' THEN department_code
                    ELSE CAST(street_code AS text) END AS unit_code,
           CASE :by WHEN 'grid' THEN grid_name
                    WHEN 'community' THEN community_name
                    WHEN 'department' THEN coalesce(department_name, '街道（无责任部门）')
                    ELSE street_name END AS unit_name
    FROM case_view
    WHERE {filter}
), spans AS (
    SELECT d.case_id, d.hours,
           CASE :by WHEN 'grid' THEN CAST(d.grid_code AS text)
                    WHEN 'community' THEN CAST(g.community_code AS text)
                    WHEN 'department' THEN d.department_code
                    ELSE CAST(cm.street_code AS text) END AS unit_code,
           CASE :by WHEN 'grid' THEN g.name WHEN 'community' THEN cm.name
                    WHEN 'department' THEN coalesce(dp.name, '街道（无责任部门）')
                    ELSE s.name END AS unit_name
    FROM case_duty d
    JOIN chosen c ON c.id = d.case_id AND c.status = 'closed'
    JOIN grid g ON g.code = d.grid_code
    JOIN community cm ON cm.code = g.community_code
    JOIN street s ON s.code = cm.street_code
    LEFT JOIN department dp ON dp.code = d.department_code
    WHERE d.hours IS NOT NULL
), held AS (
    SELECT unit_code, min(unit_name) AS unit_name, count(DISTINCT case_id) AS timed,
           sum(hours) AS hours
    FROM spans GROUP BY unit_code
), counted AS (
    SELECT unit_code, min(unit_name) AS unit_name,
           count(*) AS cases,
           count(*) FILTER (WHERE status = 'closed') AS closed,
           count(*) FILTER (WHERE closed_on_time) AS closed_on_time,
           count(*) FILTER (WHERE status NOT IN ('closed', 'void')) AS open,
           count(*) FILTER (WHERE overdue AND stage = 'handle') AS overdue,
           count(*) FILTER (WHERE status = 'void') AS void
    FROM chosen
    GROUP BY unit_code
)
SELECT coalesce(counted.unit_code, held.unit_code) AS unit_code,
       coalesce(counted.unit_name, held.unit_name) AS unit_name,
       coalesce(cases, 0) AS cases, coalesce(closed, 0) AS closed,
       coalesce(closed_on_time, 0) AS closed_on_time,
       coalesce(held.timed, 0) AS timed, held.hours / nullif(held.timed, 0) AS mean_handling_hours,
       coalesce(open, 0) AS open, coalesce(overdue, 0) AS overdue, coalesce(void, 0) AS void,
       (SELECT count(DISTINCT case_id) FROM spans) AS all_timed
FROM counted FULL JOIN held ON coalesce(counted.unit_code, '') = coalesce(held.unit_code, '')
ORDER BY 1
