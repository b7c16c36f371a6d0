-- A channel sends its most urgent message first, and a newer message of an incident stands in
-- for an older one that could not be sent (consumers/alert_rules.py, priority and STATE).
-- status gains 'superseded': never sent, because `superseded_by` (an event id) said it later.

ALTER TABLE notifications ADD COLUMN IF NOT EXISTS priority smallint NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN IF NOT EXISTS superseded_by text;
-- Whether the row says its incident's whole state (a protocol, its lifting, a false alarm), and
-- so may stand in for the incident's older failed messages; a press never does.
ALTER TABLE notifications ADD COLUMN IF NOT EXISTS supersedes boolean NOT NULL DEFAULT false;

-- Rows still open at the upgrade get the rank their words show: 3 for an extreme or severe
-- alert or its escalation, 2 for any other incident state, 1 for Handle With Care.
UPDATE notifications SET priority = CASE
    WHEN kind = 'handle_with_care' THEN 1
    WHEN mode <> 'drill' AND kind IN ('alert', 'escalation') AND level IN ('failure', 'warning')
        THEN 3
    WHEN kind = 'false_alarm' OR level IN ('failure', 'warning', 'success')
        OR title ~ '^(DRILL — )?(ESCALATION — )?\[' THEN 2
    ELSE 0 END
WHERE status IN ('pending', 'sending');

CREATE INDEX IF NOT EXISTS notifications_superseded ON notifications (superseded_by)
    WHERE superseded_by IS NOT NULL;
