-- Grid attributes are not versioned with the geometry: the newest values win. The people of
-- a grid (leader, party branch) are not here: they are kept in the registers (grid_people).
INSERT INTO grid (code, community_code, name, kind, dedicated_unit_name, dedicated_unit_type)
VALUES (:code, :community_code, :name, :kind, :dedicated_unit_name, :dedicated_unit_type)
ON CONFLICT (code) DO UPDATE SET
    name = EXCLUDED.name,
    kind = EXCLUDED.kind,
    dedicated_unit_name = EXCLUDED.dedicated_unit_name,
    dedicated_unit_type = EXCLUDED.dedicated_unit_type
