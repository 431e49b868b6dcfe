-- Move a case (already checked legal and locked) to :to, keeping its clock: acceptance starts
-- it with the category's handling hours of that moment (due_hours: a later change to the
-- catalogue does not move this case's deadline), time on hold is added to held_seconds,
-- closing or voiding stops it.
WITH moved AS (
    UPDATE civic_case SET
        status = :to,
        updated_at = now(),
        accepted_at = CASE WHEN :to = 'accepted' THEN coalesce(accepted_at, now())
                           ELSE accepted_at END,
        due_hours = CASE WHEN :to = 'accepted' AND accepted_at IS NULL
                         THEN (SELECT k.handling_hours FROM case_category k
                               WHERE k.code = civic_case.category)
                         ELSE due_hours END,
        dispatched_at = CASE WHEN :to = 'dispatched' THEN coalesce(dispatched_at, now())
                             ELSE dispatched_at END,
        closed_at = CASE WHEN :to IN ('closed', 'void') THEN now() ELSE closed_at END,
        held_seconds = held_seconds + CASE WHEN status = 'on_hold'
            THEN extract(epoch FROM now() - hold_started_at) ELSE 0 END,
        held_from = CASE WHEN :to = 'on_hold' THEN status END,
        hold_started_at = CASE WHEN :to = 'on_hold' THEN now() END
    WHERE id = :id
    RETURNING id
)
INSERT INTO case_event (case_id, actor, kind, from_status, to_status, note)
SELECT id, :actor, 'transition', :from, :to, :note FROM moved
