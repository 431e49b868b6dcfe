-- A new case and its "created" event in one statement. With an idempotency key already used
-- by this actor nothing is inserted and no row comes back (the caller reads the first case).
-- The reporter's mobile grid: the account :account (a signed-in user, or a key's owner; NULL
-- for anyone else) is a member when the register's row with its person (display name and
-- phone) served at the report's time — one indexed lookup, none without an account.
WITH new_case AS (
    INSERT INTO civic_case (category, description, channel, reporter_name, reporter_phone,
                            address, photos, input_lon, input_lat, input_crs, location,
                            compound_id, grid_code, department_code, release_id, flags,
                            created_by, idempotency_key, request_hash, urgency, stage_started_at,
                            stage_yellow_at, stage_due_at, created_at, mobile_grid)
    VALUES (:category, :description, :channel, :reporter_name, :reporter_phone, :address,
            CAST(:photos AS text[]), :input_lon, :input_lat, :input_crs,
            ST_SetSRID(ST_MakePoint(:x, :y), 4490), :compound_id, :grid_code, :department,
            :release_id, CAST(:flags AS text[]), :actor, :key, :hash, :urgency, :stage_started_at,
            :stage_yellow_at, :stage_due_at,
            coalesce(CAST(:created_at AS timestamptz), now()),
            (SELECT m.mobile_grid
             FROM app_user u
             JOIN org_mobile_member m ON m.phone = u.phone AND m.name = u.display_name
             WHERE CAST(:account AS text) IS NOT NULL
               AND lower(u.username) = lower(CAST(:account AS text))
               AND org_valid_at(m.valid_from, m.valid_to,
                                coalesce(CAST(:created_at AS timestamptz), now()))
             ORDER BY m.valid_from DESC, m.id LIMIT 1))
    ON CONFLICT (created_by, idempotency_key) DO NOTHING
    RETURNING id, grid_code, release_id, created_at, mobile_grid
), created AS (
    INSERT INTO case_event (case_id, at, actor, kind, to_status, to_grid, release_id, details)
    SELECT id, created_at, :actor, 'created', 'reported', grid_code, release_id,
           CAST(:details AS jsonb)
    FROM new_case
)
SELECT id, created_at, mobile_grid FROM new_case
