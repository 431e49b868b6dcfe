-- bench.console: :n plausible cases, each at a random point inside a random grid of the current
-- release, created over the last year, in every status with the times that status implies,
-- each with its "created" event. :seed makes the set the same run after run.
SELECT setseed(:seed);
CREATE TEMP TABLE bench_case ON COMMIT DROP AS
WITH grids AS (
    SELECT grid_code, geom, row_number() OVER (ORDER BY grid_code) AS n,
           count(*) OVER () AS total
    FROM grid_geometry WHERE valid_to_release IS NULL
), categories AS (
    SELECT array_agg(code ORDER BY code) AS codes FROM case_category WHERE active
), picks AS (
    SELECT i, 1 + floor(random() * (SELECT count(*) FROM grids))::int AS grid_n,
           random() AS s, random() AS c, random() AS t, random() AS k
    FROM generate_series(1, :n) AS i
)
SELECT p.i, g.grid_code,
       ST_GeometryN(ST_GeneratePoints(g.geom, 1, p.i), 1) AS location,
       k.codes[1 + floor(p.c * array_length(k.codes, 1))::int] AS category,
       (ARRAY['reported', 'accepted', 'dispatched', 'in_progress', 'handled', 'verified',
              'closed', 'closed', 'closed', 'closed', 'void', 'on_hold'])
           [1 + floor(p.s * 12)::int] AS status,
       now() - make_interval(secs => p.t * 365 * 86400) AS created_at,
       (ARRAY['hotline', 'app', 'rider', 'patrol', 'web'])[1 + floor(p.k * 5)::int] AS channel
FROM picks p JOIN grids g ON g.n = p.grid_n CROSS JOIN categories k;

INSERT INTO civic_case (category, description, channel, reporter_name, reporter_phone, address,
                        location, grid_code, release_id, status, held_from, hold_started_at,
                        accepted_at, dispatched_at, closed_at, created_at, updated_at, created_by)
SELECT b.category, '压测案件 ' || b.i, b.channel, '测试' || (b.i % 997), '139' || lpad((b.i % 100000000)::text, 8, '0'),
       '瑶海区测试路 ' || (b.i % 500) || ' 号', b.location, b.grid_code,
       (SELECT max(id) FROM boundary_release), b.status,
       CASE WHEN b.status = 'on_hold' THEN 'dispatched' END,
       CASE WHEN b.status = 'on_hold' THEN b.created_at + interval '3 hours' END,
       CASE WHEN b.status <> 'reported' THEN b.created_at + interval '1 hour' END,
       CASE WHEN b.status NOT IN ('reported', 'accepted', 'void') THEN b.created_at + interval '2 hours' END,
       CASE WHEN b.status = 'closed' THEN b.created_at + make_interval(hours => 3 + (b.i % 96)) END,
       b.created_at, b.created_at, 'bench'
FROM bench_case b ORDER BY b.created_at;

INSERT INTO case_event (case_id, at, actor, kind, to_status, to_grid, release_id)
SELECT id, created_at, created_by, 'created', 'reported', grid_code, release_id
FROM civic_case WHERE created_by = 'bench';
-- Their deadlines on the calendar clock (acceptance + the category's hours), as stored at
-- acceptance since migration 0008.
UPDATE civic_case c SET clock = 'calendar', due_hours = k.handling_hours,
       clock_due_at = c.accepted_at + make_interval(secs => k.handling_hours * 3600)
FROM case_category k WHERE k.code = c.category AND c.created_by = 'bench'
  AND c.accepted_at IS NOT NULL;
-- The stage each open case is in, timed as migration 0014 times cases it finds open: 立案 and
-- 派遣 1 h, 处置 its due time, 核查 2 h; yellow at 80 % of each.
UPDATE civic_case SET
    stage_started_at = CASE coalesce(held_from, status) WHEN 'reported' THEN created_at
        WHEN 'accepted' THEN accepted_at WHEN 'handled' THEN updated_at ELSE dispatched_at END,
    stage_due_at = CASE coalesce(held_from, status) WHEN 'reported' THEN created_at + interval '1 hour'
        WHEN 'accepted' THEN accepted_at + interval '1 hour'
        WHEN 'handled' THEN updated_at + interval '2 hours' ELSE clock_due_at END
WHERE created_by = 'bench' AND status NOT IN ('verified', 'closed', 'void');
UPDATE civic_case SET stage_yellow_at = stage_started_at + (stage_due_at - stage_started_at) * 0.8
WHERE created_by = 'bench' AND stage_due_at IS NOT NULL;
ANALYZE civic_case;
ANALYZE case_event;
