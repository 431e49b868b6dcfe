-- Coverage gaps computed in Python (geogrid.lookup.coverage), passed as arrays so that the
-- same filters, sorting and paging run on them as on every stored collection.
SELECT g.minutes || '-' || g.code AS fid, g.code, g.name, g.minutes, g.area_m2, g.gap_area_m2,
       g.covered_share, g.households, g.households_uncovered, g.compounds_uncovered,
       CAST(:release AS integer) AS release, ST_GeomFromWKB(g.wkb, 4490) AS geom
FROM unnest(CAST(:codes AS text[]), CAST(:names AS text[]), CAST(:minutes AS integer[]),
            CAST(:areas AS double precision[]), CAST(:gap_areas AS double precision[]),
            CAST(:shares AS double precision[]), CAST(:households AS integer[]),
            CAST(:households_uncovered AS integer[]), CAST(:compounds_uncovered AS integer[]),
            CAST(:wkbs AS bytea[]))
     AS g(code, name, minutes, area_m2, gap_area_m2, covered_share, households,
          households_uncovered, compounds_uncovered, wkb)
