#!/usr/bin/env bash
# Benchmark (not a test): what the published binary weighs and what a deploy costs beyond Docker's own work.
# Needs what `bash tests/run.sh` installs (dockerd running, caddy, git, busybox-static), python3 and bc, and a
# published binary:
#   dotnet publish VpsPanel.csproj -c Release -r linux-x64 -o out/publish && bash bench/deploy.sh [ROUNDS]
# Prints: binary size, startup time to the first 200 on /healthz, idle RSS; then for ROUNDS redeploys of a tiny
# busybox app (warm build cache, one changed file) the time from "deploy pressed" to "new version served through
# Caddy", split by step, against a baseline measured in the same run: `docker build` of the same change + `docker run`
# + first 200 from the container. Absolute times are noisy on a shared 2-core machine; read the ratio.
# BENCH_SITES=N first gives the panel N more live projects (one site file each, all proxied to one unused port), so
# the switch step (render, validate, write, reload Caddy) can be compared at 30 and 120 live sites; the median
# switch time is printed at the end. BENCH_NO_BASELINE=1 skips the docker build+run baseline (for many rounds, e.g.
# `BENCH_NO_BASELINE=1 BENCH_SMAPS=1 bash bench/deploy.sh 50` for memory after 50 deploys; ratios then read 1.00).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
bin=${VPSPANEL_BINARY:-$PWD/out/publish/vpspanel}
[ -x "$bin" ] || { echo "no binary at $bin; publish first" >&2; exit 1; }
work=$(mktemp -d /tmp/vpspanel-bench-XXXXXX)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
panel_pid=""; caddy_pid=""
cleanup() {
  if [ -n "$panel_pid" ]; then kill "$panel_pid" 2>/dev/null || true; fi
  if [ -n "$caddy_pid" ]; then kill "$caddy_pid" 2>/dev/null || true; fi
  for c in $(docker ps -aq --filter label=vpspanel.bench=1 --filter "label=vpspanel.project=bench-app" | sort -u); do docker rm -f "$c" >/dev/null 2>&1 || true; done
  for i in $(docker images -q --filter label=vpspanel.bench=1 | sort -u); do docker rmi -f "$i" >/dev/null 2>&1 || true; done
  # The project's own bridge network (Docker/ProjectNetwork): left behind, it holds one of the engine's ~30 address pools.
  for n in $(docker network ls -q --filter label=vpspanel.project=bench-app); do docker network rm "$n" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# Caddy on loopback ports, importing the panel's sites directory (as the installed main Caddyfile does).
# shellcheck source=bench/caddy.sh
. "$PWD/bench/caddy.sh"
start_bench_caddy "$work"

# The binary alone in an empty folder.
mkdir -p "$work/app"; cp "$bin" "$work/app/vpspanel"
size=$(du -m "$work/app/vpspanel" | cut -f1)
panel=$(port)
export Panel__DataDir=$work/data Caddy__AdminAddress=http://127.0.0.1:$admin Caddy__Caddyfile=$work/caddy/Caddyfile \
  Caddy__SitesDir=$work/caddy/sites Caddy__AutomaticHttps=false Deploy__PortRange=30000-30999 Deploy__DrainSeconds=1
seed_sites() {
  # The CLI creates and migrates the database; the panel then renders every seeded site at startup.
  printf 'bench-password-123\n' | "$work/app/vpspanel" user add --email bench@example.com --admin --data-dir "$work/data" >/dev/null
  sqlite3 "$work/data/vpspanel.db" <<SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
INSERT INTO projects (name, slug, owner_id, git_url, branch, container_port, created_at, updated_at)
SELECT 'seed-' || i, 'seed-' || i, (SELECT min(id) FROM users), '/nonexistent.git', 'main', 8080, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z' FROM n;
INSERT INTO project_domains (project_id, hostname, position) SELECT id, slug || '.bench.test', 0 FROM projects WHERE slug LIKE 'seed-%';
INSERT INTO deployments (project_id, status, trigger, config_json, host_port, created_at)
SELECT id, 'live', 'manual', '{}', 39999, '2026-01-01T00:00:00.000Z' FROM projects WHERE slug LIKE 'seed-%';
SQL
}
sites=${BENCH_SITES:-0}
[ "$sites" -gt 0 ] && seed_sites "$sites"
start=$(now)
(cd "$work/app" && exec ./vpspanel --urls "http://127.0.0.1:$panel" >"$work/panel.log" 2>&1) &
panel_pid=$!
# RSS in MB, and how much of it is the mapped binary (file) rather than the heap and JIT code (anon).
memory() { awk '/^VmRSS/ {t=int($2/1024)} /^RssAnon/ {a=int($2/1024)} /^RssFile/ {f=int($2/1024)} /^Threads/ {th=$2} END {printf "%s (anon %s, file %s; %s threads)", t, a, f, th}' "/proc/$panel_pid/status"; }
until curl -fs -o /dev/null "http://127.0.0.1:$panel/healthz"; do sleep 0.02; done
startup=$(echo "$(now) - $start" | bc)
sleep 5
rss=$(memory)
printf 'binary %s MB, startup to first 200 on /healthz %.2f s, idle RSS after 5 s %s MB\n' "$size" "$startup" "$rss"

[ "$sites" -gt 0 ] || printf 'bench-password-123\n' | "$work/app/vpspanel" user add --email bench@example.com --admin --data-dir "$work/data" >/dev/null
token=$("$work/app/vpspanel" token create --user bench@example.com --name bench --data-dir "$work/data")
api() { curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "$@"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# A tiny app in a local bare repository.
git init -q --bare "$work/repo.git"
git init -q -b main "$work/src"
mkdir -p "$work/src/www"; cp /bin/busybox "$work/src/busybox"
cat > "$work/src/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
LABEL vpspanel.bench=1
COPY www /www
EXPOSE 8080
CMD ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
DOCKERFILE
commit() { echo "$1" > "$work/src/www/index.html"; git -C "$work/src" add -A; git -C "$work/src" -c user.name=b -c user.email=b@b commit -qm "$1"; git -C "$work/src" push -q "$work/repo.git" main; }
commit v0
api -X POST "http://127.0.0.1:$panel/api/projects" \
  -d "{\"name\":\"bench-app\",\"gitUrl\":\"$work/repo.git\",\"branch\":\"main\",\"port\":8080,\"domains\":[\"bench.test\"]}" >/dev/null
served() { curl -s -H "Host: bench.test" "http://127.0.0.1:$http/" 2>/dev/null || true; }
deploy_and_wait() {
  local t0 id
  t0=$(now)
  id=$(api -X POST "http://127.0.0.1:$panel/api/projects/bench-app/deployments" | json 'd["id"]')
  local n=0
  until [ "$(served)" = "$1" ]; do
    sleep 0.02
    # Only now and then: asking the API (and starting python) on every poll would slow the measured loop.
    n=$((n + 1))
    if [ $((n % 50)) -eq 0 ] && [ "$(api "http://127.0.0.1:$panel/api/deployments/$id" | json 'd["status"]')" = failed ]; then
      echo "deploy $id failed" >&2; exit 1
    fi
  done
  total=$(echo "$(now) - $t0" | bc)
  steps=$(api "http://127.0.0.1:$panel/api/deployments/$id" | json '" ".join("%s=%.2f" % (s["step"], s["durationSeconds"] or 0) for s in d["steps"])')
}
deploy_and_wait v0 # the first deploy warms the cache (busybox layer)

baseline_once() {
  local t0 cport cid
  t0=$(now)
  DOCKER_BUILDKIT=0 docker build -q -t vpspanel-bench:base "$work/src" >/dev/null 2>&1
  cport=$(port)
  cid=$(docker run -d -l vpspanel.bench=1 -p "127.0.0.1:$cport:8080" vpspanel-bench:base)
  until [ "$(curl -s "http://127.0.0.1:$cport/" 2>/dev/null)" = "$1" ]; do sleep 0.02; done
  base=$(echo "$(now) - $t0" | bc)
  docker rm -f "$cid" >/dev/null
}

sum_total=0; sum_base=0; switches=""
for r in $(seq 1 "$rounds"); do
  commit "v$r"
  deploy_and_wait "v$r"
  if [ -n "${BENCH_NO_BASELINE:-}" ]; then base=$total; else baseline_once "v$r"; fi
  printf 'round %s: panel %.2f s (%s) | docker build+run %.2f s | ratio %.2f\n' "$r" "$total" "$steps" "$base" "$(echo "$total / $base" | bc -l)"
  switches="$switches $(sed -n 's/.*switching=\([0-9.]*\).*/\1/p' <<<"$steps")"
  sum_total=$(echo "$sum_total + $total" | bc); sum_base=$(echo "$sum_base + $base" | bc)
done
printf 'mean over %s rounds: panel %.2f s, docker build+run %.2f s, ratio %.2f\n' "$rounds" \
  "$(echo "$sum_total / $rounds" | bc -l)" "$(echo "$sum_base / $rounds" | bc -l)" "$(echo "$sum_total / $sum_base" | bc -l)"
printf 'switch step with %s more live sites: median %s s over %s rounds (%s)\n' "$sites" \
  "$(tr ' ' '\n' <<<"$switches" | grep . | sort -n | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}')" "$rounds" "${switches# }"
rss=$(memory)
printf 'panel RSS right after the last deploy: %s MB\n' "$rss"
# The retired container drains after the switch and the panel returns free memory once nothing runs or drains; read
# again after that, as DeployMemoryTests does, so the number is what the panel keeps, not what one deploy passes through.
for _ in $(seq 1 120); do
  [ "$(docker ps -aq --filter "label=vpspanel.project=bench-app" | wc -l)" -le 1 ] && break
  sleep 0.5
done
sleep 2
printf 'panel RSS once the old container has drained (idle): %s MB\n' "$(memory)"
if [ -n "${BENCH_SMAPS:-}" ]; then cat "/proc/$panel_pid/smaps_rollup" && grep -E "^(VmRSS|RssAnon|RssFile|RssShmem)" "/proc/$panel_pid/status"; fi
# BENCH_GCDUMP=file: a managed heap dump of the panel after the deploys (dotnet-gcdump on PATH), and its biggest types.
if [ -n "${BENCH_GCDUMP:-}" ]; then
  dotnet-gcdump collect -p "$panel_pid" -o "$BENCH_GCDUMP" >/dev/null && dotnet-gcdump report "$BENCH_GCDUMP" | head -40
  printf 'panel RSS after the heap dump: %s MB\n' "$(memory)"
fi
