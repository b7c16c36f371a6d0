-- The notifier's outbox and escalation timers. Not read models: `muster rebuild` keeps them, so
-- an (event, channel) already sent is never sent again after a rebuild.

CREATE TABLE IF NOT EXISTS notifications (
    id          bigserial UNIQUE,
    event_id    text NOT NULL,
    channel     text NOT NULL,
    site        text NOT NULL,
    incident_id text,
    seq         bigint NOT NULL,
    mode        text NOT NULL,
    kind        text NOT NULL,
    title       text NOT NULL,
    body        text NOT NULL,
    level       text NOT NULL,
    status      text NOT NULL DEFAULT 'pending',  -- pending | sending | sent | failed
    attempts    integer NOT NULL DEFAULT 0,
    next_at     timestamptz NOT NULL DEFAULT now(),
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz,
    error       text,
    PRIMARY KEY (event_id, channel)
);
CREATE INDEX IF NOT EXISTS notifications_open ON notifications (site, channel, id)
    WHERE status IN ('pending', 'sending');
CREATE INDEX IF NOT EXISTS notifications_incident ON notifications (incident_id);

CREATE TABLE IF NOT EXISTS escalations (
    incident_id text NOT NULL,
    channel     text NOT NULL,
    site        text NOT NULL,
    event_id    text NOT NULL,
    due_at      timestamptz NOT NULL,
    done        boolean NOT NULL DEFAULT false,
    PRIMARY KEY (incident_id, channel)
);
CREATE INDEX IF NOT EXISTS escalations_due ON escalations (due_at) WHERE NOT done;
