-- Open cases a new release may move into another grid: those in a grid whose geometry the
-- release changed or retired, those whose location a changed geometry covers, and those
-- routed from outside the district (their nearest grid may have changed). Locked for update.
WITH changed AS (
    SELECT grid_code, geom FROM grid_geometry
    WHERE valid_from_release = :r OR valid_to_release = :r
)
SELECT c.id, ST_X(c.location) AS x, ST_Y(c.location) AS y, c.status, c.held_from,
       c.routed_by, c.grid_code, c.flags
FROM civic_case c
WHERE c.status NOT IN ('closed', 'void')
  AND (c.grid_code IN (SELECT grid_code FROM changed)
       OR 'outside_district' = ANY (c.flags)
       OR EXISTS (SELECT 1 FROM changed g WHERE ST_Covers(g.geom, c.location)))
ORDER BY c.id
FOR UPDATE OF c
