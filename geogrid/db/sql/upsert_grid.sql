-- Grid attributes are not versioned with the geometry: the newest values win.
INSERT INTO grid (code, community_code, name, kind, dedicated_unit_name, dedicated_unit_type,
                  leader_name, leader_phone, party_branch_name, party_secretary_name,
                  party_secretary_phone)
VALUES (:code, :community_code, :name, :kind, :dedicated_unit_name, :dedicated_unit_type,
        :leader_name, :leader_phone, :party_branch_name, :party_secretary_name,
        :party_secretary_phone)
ON CONFLICT (code) DO UPDATE SET
    name = EXCLUDED.name,
    kind = EXCLUDED.kind,
    dedicated_unit_name = EXCLUDED.dedicated_unit_name,
    dedicated_unit_type = EXCLUDED.dedicated_unit_type,
    leader_name = coalesce(EXCLUDED.leader_name, grid.leader_name),
    leader_phone = coalesce(EXCLUDED.leader_phone, grid.leader_phone),
    party_branch_name = coalesce(EXCLUDED.party_branch_name, grid.party_branch_name),
    party_secretary_name = coalesce(EXCLUDED.party_secretary_name, grid.party_secretary_name),
    party_secretary_phone = coalesce(EXCLUDED.party_secretary_phone, grid.party_secretary_phone)
