-- Move a case (already checked legal and locked) to :to, keeping its clock. Acceptance starts
-- it: the category's handling hours and clock of that moment (:hours, :clock; a later change to
-- the catalogue does not move this case's deadline) and the due time computed from them
-- (:due, or :missing when it reaches a year with no working calendar). Leaving hold moves the
-- due time on (:set_due with the new :due). Time on hold is added to held_seconds; closing or
-- voiding stops the clock. :at is the moment of the move: the transaction's time, or an earlier
-- one for a step entered late (补录, marked in the event's details).
WITH moved AS (
    UPDATE civic_case SET
        status = :to,
        urgency = :urgency,
        updated_at = now(),
        accepted_at = CASE WHEN :to = 'accepted' THEN coalesce(accepted_at, CAST(:at AS timestamptz))
                           ELSE accepted_at END,
        due_hours = coalesce(CAST(:hours AS double precision), due_hours),
        clock = coalesce(CAST(:clock AS text), clock),
        clock_due_at = CASE WHEN CAST(:set_due AS boolean) THEN CAST(:due AS timestamptz)
                            ELSE clock_due_at END,
        calendar_missing = CASE WHEN CAST(:set_due AS boolean) THEN CAST(:missing AS boolean)
                                ELSE calendar_missing END,
        dispatched_at = CASE WHEN :to = 'dispatched' THEN coalesce(dispatched_at, CAST(:at AS timestamptz))
                             ELSE dispatched_at END,
        closed_at = CASE WHEN :to IN ('closed', 'void') THEN CAST(:at AS timestamptz) ELSE closed_at END,
        held_seconds = held_seconds + CASE WHEN status = 'on_hold'
            THEN extract(epoch FROM CAST(:at AS timestamptz) - hold_started_at) ELSE 0 END,
        held_from = CASE WHEN :to = 'on_hold' THEN status END,
        hold_started_at = CASE WHEN :to = 'on_hold' THEN CAST(:at AS timestamptz) END
    WHERE id = :id
    RETURNING id
)
INSERT INTO case_event (case_id, at, actor, kind, from_status, to_status, note, details)
SELECT id, CAST(:at AS timestamptz), :actor, 'transition', :from, :to, :note,
       CAST(:details AS jsonb)
FROM moved
