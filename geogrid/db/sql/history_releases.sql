-- Every boundary release, oldest first, with what it changed against the release before it.
-- A grid geometry row that starts at release r is new in r; a row that ends at r held in the
-- release before r (rows span releases [valid_from_release, valid_to_release)). A code with
-- both changed its geometry; one that only starts was added, one that only ends was removed.
-- The grids a release holds are the running sum of added minus removed, so this reads only
-- the rows that changed, however many releases there are.
WITH events AS (
    SELECT coalesce(s.grid_code, e.grid_code) AS grid_code,
           coalesce(s.release, e.release) AS release,
           s.grid_code IS NOT NULL AS started,
           e.grid_code IS NOT NULL AS ended
    FROM (SELECT grid_code, valid_from_release AS release FROM grid_geometry) AS s
    FULL JOIN (SELECT grid_code, valid_to_release AS release FROM grid_geometry
               WHERE valid_to_release IS NOT NULL) AS e
      ON e.grid_code = s.grid_code AND e.release = s.release
),
counts AS (
    SELECT release,
           count(*) FILTER (WHERE started AND ended) AS changed,
           count(*) FILTER (WHERE started AND NOT ended) AS added,
           count(*) FILTER (WHERE ended AND NOT started) AS removed
    FROM events
    GROUP BY release
)
SELECT b.id, b.published_at, b.published_by, b.comment, b.source,
       lag(b.id) OVER (ORDER BY b.id) AS previous,
       coalesce(c.added, 0) AS added,
       coalesce(c.removed, 0) AS removed,
       coalesce(c.changed, 0) AS changed,
       sum(coalesce(c.added, 0) - coalesce(c.removed, 0)) OVER (ORDER BY b.id) AS grids
FROM boundary_release AS b
LEFT JOIN counts AS c ON c.release = b.id
ORDER BY b.id
