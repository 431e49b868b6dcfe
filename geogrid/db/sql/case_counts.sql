-- Cases a CaseFilter selects, counted per unit: grid, community, street, category,
-- major (category class), status or mobile_grid (the reporter's; NULL for the cases no member
-- reported), as the "by" parameter says.
WITH chosen AS (
    SELECT *,
           CASE :by WHEN 'grid' THEN CAST(grid_code AS text)
                    WHEN 'community' THEN CAST(community_code AS text)
                    WHEN 'street' THEN CAST(street_code AS text)
                    WHEN 'category' THEN category
                    WHEN 'major' THEN left(category, 3)
                    WHEN 'mobile_grid' THEN mobile_grid
                    ELSE status END AS unit_code,
           CASE :by WHEN 'grid' THEN grid_name
                    WHEN 'community' THEN community_name
                    WHEN 'street' THEN street_name
                    WHEN 'category' THEN category_name
                    WHEN 'major' THEN category_major
                    WHEN 'mobile_grid' THEN mobile_grid
                    ELSE status END AS unit_name
    FROM case_view
    WHERE {filter}
)
SELECT unit_code, min(unit_name) AS unit_name,
       count(*) AS cases,
       count(*) FILTER (WHERE status NOT IN ('closed', 'void')) AS open,
       count(*) FILTER (WHERE overdue) AS overdue
FROM chosen
GROUP BY unit_code
ORDER BY unit_code
