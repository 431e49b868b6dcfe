-- One page of the cases a CaseFilter selects, in an order from geogrid.cases.queries.SORTS
-- (spliced in at ORDER BY); by id, keyset paging takes the ids after the "after" parameter.
SELECT *
FROM case_view
WHERE {filter}
  AND (CAST(:after AS bigint) IS NULL OR id > CAST(:after AS bigint))
ORDER BY {order}
LIMIT :fetch
