"""The notifier's outbox queries: which rows a channel sends next, and which no longer need to.

Rows are ranked by `priority` (command/domain/alert_rules.py); $1 or $4 below is its STATE, at and
above which a row says an incident's state.
"""

# An incident's message ($1: alert_rules.STATE) that failed and waits for a retry is superseded
# by the incident's newest state on that channel (a protocol, its lifting, a false alarm; never
# another press), which then names it (`replaces`).
SUPERSEDE = (
    "WITH open AS (SELECT DISTINCT site, channel, incident_id FROM notifications "
    "WHERE status IN ('pending','sending') AND attempts > 0 AND priority >= $1 "
    "AND incident_id IS NOT NULL), "
    "latest AS (SELECT DISTINCT ON (n.site, n.channel, n.incident_id) n.site, n.channel, "
    "n.incident_id, n.id, n.event_id FROM notifications n JOIN open USING "
    "(site, channel, incident_id) WHERE n.priority >= $1 AND n.supersedes "
    "ORDER BY n.site, n.channel, n.incident_id, n.id DESC), "
    "gone AS (UPDATE notifications n SET status='superseded', superseded_by=l.event_id "
    "FROM latest l WHERE (n.site, n.channel, n.incident_id) = (l.site, l.channel, l.incident_id) "
    "AND n.id < l.id AND n.priority >= $1 AND n.attempts > 0 "
    "AND (n.status = 'pending' OR (n.status = 'sending' AND n.next_at <= now())) "
    "RETURNING n.event_id, n.channel, l.event_id AS by) "
    "UPDATE notifications n SET superseded_by = g.by FROM gone g "  # a chain names the newest
    "WHERE n.status = 'superseded' AND n.superseded_by = g.event_id AND n.channel = g.channel")
# Due rows, ranked per channel: by priority, an incident's states together, newest incident
# first and oldest first within it (so a lockdown's presses go in one batch, in order; a secure
# never lands after the lockdown that followed it), routine records oldest first. An incident's
# later state waits while an earlier one is in backoff or in flight, so an alert is never
# overtaken by its own all clear.
CLAIM = (
    "WITH due AS (SELECT n.event_id, n.channel, n.site, n.incident_id, n.id, n.priority, "
    "(n.priority >= $4 AND n.incident_id IS NOT NULL) AS state FROM notifications n "
    "WHERE status IN ('pending','sending') AND next_at <= now() "
    "AND NOT (site || '/' || channel = ANY($2::text[])) "
    "AND (priority < $4 OR incident_id IS NULL OR NOT EXISTS (SELECT 1 FROM notifications o "
    "WHERE o.site = n.site AND o.channel = n.channel AND o.incident_id = n.incident_id "
    "AND o.priority >= $4 AND o.status IN ('pending','sending') AND o.next_at > now() "
    "AND o.id < n.id))), "
    "grouped AS (SELECT d.*, CASE WHEN state THEN max(priority) OVER g ELSE priority END AS gp, "
    "CASE WHEN state THEN max(id) OVER g ELSE -id END AS gn FROM due d "
    "WINDOW g AS (PARTITION BY site, channel, incident_id, state)), "
    "ranked AS (SELECT event_id, channel, row_number() OVER (PARTITION BY site, channel "
    "ORDER BY gp DESC, gn DESC, id) AS rank FROM grouped) "
    "UPDATE notifications n SET status='sending', attempts=n.attempts+1, "
    "next_at = now() + make_interval(secs => $1) FROM ranked r "
    "WHERE n.event_id=r.event_id AND n.channel=r.channel AND r.rank <= $3 "
    "RETURNING n.*, r.rank, ARRAY(SELECT s.title FROM notifications s "
    "WHERE s.superseded_by = n.event_id AND s.channel = n.channel ORDER BY s.id) AS replaces")
