-- A read model: every site file a site has had, by the sequence of the SiteConfigured that set
-- it, so a past drill's row is folded with the file in force when it opened (docs/drills.md).
-- A database projected before this keeps only its current files: older incidents fall back to
-- them until `muster rebuild` fills the history from the stream.

CREATE TABLE IF NOT EXISTS site_versions (
    site   text NOT NULL,
    seq    bigint NOT NULL,
    config jsonb NOT NULL,
    PRIMARY KEY (site, seq)
);

INSERT INTO site_versions (site, seq, config) SELECT site, seq, config FROM sites
ON CONFLICT DO NOTHING;
