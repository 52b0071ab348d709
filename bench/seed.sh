# shellcheck shell=bash
# Sourced by run.sh (measurements 4 and 6) and pages.sh: a big history written straight into the schema the
# migrations made, and a signed-in browser cookie. Needs sqlite3, curl and the caller's helper() (bench.py).

seed() { # DB PROJECTS DEPLOYMENTS: history only (nothing live, so the panel neither routes nor reconciles them)
  sqlite3 "$1" <<SQL
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2)
INSERT INTO projects (name, slug, owner_id, git_url, branch, container_port, created_at, updated_at)
SELECT 'seed-' || i, 'seed-' || i, (SELECT min(id) FROM users), 'https://git.example.invalid/seed-' || i || '.git', 'main', 8080,
       strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || i || ' minutes'), strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || i || ' minutes')
FROM n;
INSERT INTO project_domains (project_id, hostname, position) SELECT id, slug || '.bench.invalid', 0 FROM projects WHERE slug LIKE 'seed-%';
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $3)
INSERT INTO deployments (project_id, status, trigger, config_json, commit_sha, commit_message, commit_author, image, created_at, started_at,
                         finished_at, failed_step, error, log_key)
SELECT (SELECT min(id) FROM projects WHERE slug LIKE 'seed-%') + i % $2,
       CASE i % 10 WHEN 0 THEN 'failed' WHEN 1 THEN 'superseded' ELSE 'retired' END,
       CASE i % 3 WHEN 0 THEN 'webhook' ELSE 'manual' END, '{}', lower(hex(randomblob(20))), 'seeded commit ' || i, 'bench',
       CASE WHEN i % 10 > 1 THEN 'vpspanel/seed:' || i END,
       strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || i || ' seconds'), strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || i || ' seconds'),
       strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || (i + 30) || ' seconds'),
       CASE WHEN i % 10 = 0 THEN 'building' END, CASE WHEN i % 10 = 0 THEN 'seeded failure' END, lower(hex(randomblob(16)))
FROM n;
COMMIT;
SQL
}

sign_in() { # PANEL_URL DIR: signs the bench's admin in with the login form; prints the Cookie header's value
  curl -fsS -c "$2/jar" -o "$2/login.html" "$1/login"
  curl -fsS -b "$2/jar" -c "$2/jar" -o /dev/null --data-urlencode email=bench@example.com --data-urlencode password=bench-password-123 \
    --data-urlencode "__RequestVerificationToken=$(helper token "$2/login.html")" "$1/login"
  helper cookie "$2/jar"
}
