-- The AwayEventScheduled that set a site version, kept beside the file it gave: a fold that
-- interleaves an incident's config changes (the desk) must place the event's people as intake
-- did, which the file alone cannot say (when it was scheduled). NULL for a site file or a
-- roster import, whose file says all, and for versions projected before this column.

ALTER TABLE site_versions ADD COLUMN IF NOT EXISTS event json;
