-- Read models: every table here but tokens can be dropped and rebuilt from the stream.

CREATE TABLE IF NOT EXISTS projection_position (
    name text PRIMARY KEY,
    seq  bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS sites (
    site   text PRIMARY KEY,
    seq    bigint NOT NULL,
    config jsonb NOT NULL
);

CREATE TABLE IF NOT EXISTS boards (
    site       text PRIMARY KEY,
    seq        bigint NOT NULL,
    state      jsonb NOT NULL,
    board      json NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS incidents (
    id          text PRIMARY KEY,
    site        text NOT NULL,
    kind        text NOT NULL,
    mode        text NOT NULL,
    status      text NOT NULL,
    action      text,
    opened_at   timestamptz NOT NULL,
    ended_at    timestamptz,
    false_alarm boolean NOT NULL DEFAULT false,
    last_seq    bigint NOT NULL,
    doc         json NOT NULL
);
CREATE INDEX IF NOT EXISTS incidents_site ON incidents (site, opened_at);

CREATE TABLE IF NOT EXISTS rooms (
    incident_id text NOT NULL,
    site        text NOT NULL,
    room        text NOT NULL,
    status      text,
    reported_at timestamptz,
    present     integer,
    doc         json NOT NULL,
    PRIMARY KEY (incident_id, room)
);

CREATE TABLE IF NOT EXISTS timeline (
    seq         bigint PRIMARY KEY,
    incident_id text,
    site        text NOT NULL,
    type        text NOT NULL,
    occurred_at timestamptz NOT NULL,
    event       json NOT NULL
);
CREATE INDEX IF NOT EXISTS timeline_incident ON timeline (incident_id, seq);

-- Not a read model: bearer tokens exist only here, as hashes.
CREATE TABLE IF NOT EXISTS tokens (
    id           bigserial PRIMARY KEY,
    name         text NOT NULL,
    role         text NOT NULL,
    site         text NOT NULL,
    hash         bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz
);
