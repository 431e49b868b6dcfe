-- The predicate of geogrid.case_queries.CaseFilter over case_view (spliced into the case_*
-- queries at {filter}). Every value is a bound parameter; NULL means "any".
(CAST(:statuses AS text[]) IS NULL OR status = ANY(CAST(:statuses AS text[])))
AND (CAST(:grid AS text) IS NULL OR grid_code = CAST(:grid AS bpchar))
AND (CAST(:community AS text) IS NULL OR community_code = CAST(:community AS bpchar))
AND (CAST(:street AS text) IS NULL OR street_code = CAST(:street AS bpchar))
AND (CAST(:categories AS text[]) IS NULL OR category = ANY(CAST(:categories AS text[])))
AND (CAST(:created_from AS timestamptz) IS NULL
     OR created_at >= CAST(:created_from AS timestamptz))
AND (CAST(:created_to AS timestamptz) IS NULL OR created_at < CAST(:created_to AS timestamptz))
-- overdue is NULL before acceptance (no clock yet): such a case is not overdue
AND (CAST(:overdue AS boolean) IS NULL OR coalesce(overdue, false) = CAST(:overdue AS boolean))
AND (CAST(:open AS boolean) IS NULL
     OR (status NOT IN ('closed', 'void')) = CAST(:open AS boolean))
AND (CAST(:flags AS text[]) IS NULL OR flags && CAST(:flags AS text[]))
AND (CAST(:mobile_grid AS text) IS NULL OR mobile_grid = CAST(:mobile_grid AS text))
