-- Sites a consumer stopped at an event it could not apply (consumers/faults.py). Written in the
-- transaction that moves the consumer's position; the projector's go with its read models when
-- `muster rebuild` drops them, the notifier's stay with its outbox.

CREATE TABLE IF NOT EXISTS consumer_faults (
    consumer  text NOT NULL,
    site      text NOT NULL,
    seq       bigint NOT NULL,   -- the first event of the site not applied
    event_id  text NOT NULL,
    type      text NOT NULL,
    error     text NOT NULL,
    at        timestamptz NOT NULL DEFAULT now(),
    alerted   boolean NOT NULL DEFAULT false,  -- the operator was told (once per fault)
    PRIMARY KEY (consumer, site)
);
