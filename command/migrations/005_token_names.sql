-- A token's name is unique within its site: the audit trail and `muster token revoke` read
-- names. Names shared before this migration keep the oldest; later ones get their id appended.

UPDATE tokens t SET name = t.name || '-' || t.id
WHERE EXISTS (SELECT 1 FROM tokens o WHERE o.site = t.site AND o.name = t.name AND o.id < t.id);
CREATE UNIQUE INDEX IF NOT EXISTS tokens_site_name ON tokens (site, name);
