-- Domains (issue 5). The primary domain of a project is its domain at position 0.
-- "HTTP only": served on plain http:// without a certificate (local or internal names, IP addresses).
ALTER TABLE project_domains ADD COLUMN http_only INTEGER NOT NULL DEFAULT 0;

-- What the project's other domains do: 'serve' the app too, or 'redirect' (308) to the primary.
ALTER TABLE projects ADD COLUMN alias_mode TEXT NOT NULL DEFAULT 'serve' CHECK (alias_mode IN ('serve', 'redirect'));
-- Also answer on the primary's www./apex counterpart (www.example.com for example.com, and the other way round)
-- with a 308 to the primary.
ALTER TABLE projects ADD COLUMN redirect_www INTEGER NOT NULL DEFAULT 0;

-- Panel-wide settings an admin changes at runtime on the Settings page (unlike the operator's settings file):
-- the wildcard base domain for default project domains, and the panel's own domain.
CREATE TABLE panel_options (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
