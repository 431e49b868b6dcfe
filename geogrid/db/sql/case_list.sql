-- One page of the cases a CaseFilter selects, by id (keyset paging: ids after the "after" parameter).
SELECT *
FROM case_view
WHERE {filter}
  AND (CAST(:after AS bigint) IS NULL OR id > CAST(:after AS bigint))
ORDER BY id
LIMIT :fetch
