-- Open cases (neither closed nor void) of category :category reported in the last :days days
-- within :distance_m metres of the storage point (:x, :y), nearest first, and the database's
-- clock (the moment "now" means, for the window and for a due time counted from it).
-- The box test (&&) uses the GiST index on civic_case.location; the box is :distance_m metres
-- wide in degrees at the point's latitude, with 5% to spare. Distances are metres in
-- EPSG:4548 (CGCS2000 / 3-degree Gauss-Kruger CM 117E), never degrees.
WITH here AS (
    SELECT ST_SetSRID(ST_MakePoint(:x, :y), 4490) AS point, now() AS now
)
SELECT here.now, near.*
FROM here
LEFT JOIN LATERAL (
    SELECT c.id, c.status, c.created_at, c.description, c.reporter_name, c.reporter_phone,
           c.grid_code, d.distance_m
    FROM civic_case c
    CROSS JOIN LATERAL (
        SELECT ST_Distance(ST_Transform(c.location, 4548), ST_Transform(here.point, 4548))
               AS distance_m
    ) d
    WHERE c.location && ST_Expand(
              here.point,
              1.05 * :distance_m / (111320.0 * cos(radians(:y))),
              1.05 * :distance_m / 110574.0)
      AND c.category = :category
      AND c.status NOT IN ('closed', 'void')
      AND c.created_at >= here.now - make_interval(secs => :days * 86400.0)
      AND d.distance_m <= :distance_m
    ORDER BY d.distance_m, c.id
    LIMIT :limit
) near ON true
