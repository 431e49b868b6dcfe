-- Each grid of release :release with the party branch and the consultation platforms that
-- served it at :at (no branch: NULLs; no platform: empty arrays).
WITH platforms AS (
    SELECT gc AS grid_code,
           array_agg(p.name ORDER BY p.kind, p.name, p.id) AS names,
           array_agg(p.kind ORDER BY p.kind, p.name, p.id) AS kinds
    FROM org_platform p, unnest(p.grid_codes) AS gc
    WHERE org_valid_at(p.valid_from, p.valid_to, :at)
    GROUP BY gc
)
SELECT trim(g.code) AS code, g.kind, b.name AS branch, b.secretary_name, b.secretary_phone,
       coalesce(p.names, '{}') AS platforms, coalesce(p.kinds, '{}') AS platform_kinds
FROM grid_geometry_in(:release) gg
JOIN grid g ON g.code = gg.grid_code
LEFT JOIN org_party_branch b
       ON b.grid_code = g.code AND org_valid_at(b.valid_from, b.valid_to, :at)
LEFT JOIN platforms p ON p.grid_code = g.code
ORDER BY g.code
