#!/usr/bin/env bash
# Measurement 7 of bench/run.sh alone (webhook ingestion), for working on it without the hour of the whole harness:
# the same panel settings, project, secret, pushes file and wrk script, with the static-file baseline of the same
# process measured right after, and the database count afterwards. Prints one line per round.
#   dotnet publish VpsPanel.csproj -c Release -r linux-x64 -o out/publish && bash bench/webhooks.sh
# BENCH_SECONDS (10), BENCH_WEBHOOK_CONNECTIONS (16), BENCH_WEBHOOK_ROUNDS (1), VPSPANEL_BINARY as in run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${BENCH_SECONDS:-10}
connections=${BENCH_WEBHOOK_CONNECTIONS:-16}
rounds=${BENCH_WEBHOOK_ROUNDS:-1}
bin=${VPSPANEL_BINARY:-$root/out/publish/vpspanel}
py=$(python3 -c 'import sys; print(sys.executable)')
helper() { "$py" "$root/bench/bench.py" "$@"; }
port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
work=$(mktemp -d /tmp/vpspanel-hooks-XXXXXX)
panel_pid=""; caddy_pid=""; panel_id=""
cleanup() {
  for p in "$panel_pid" "$caddy_pid"; do [ -n "$p" ] && { kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; }; done
  if [ -n "$panel_id" ]; then
    for c in $(docker ps -aq --filter "label=vpspanel.panel=$panel_id"); do docker rm -f "$c" >/dev/null 2>&1 || true; done
    for i in $(docker images -q --filter "reference=vpspanel/$panel_id-*" | sort -u); do docker rmi -f "$i" >/dev/null 2>&1 || true; done
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# shellcheck source=bench/caddy.sh
. "$root/bench/caddy.sh"
start_bench_work "$work" "$bin"
panel_id=$(sqlite3 "$work/data/vpspanel.db" "SELECT value FROM panel_options WHERE key = 'panel.id'")
p=$(port); panel=http://127.0.0.1:$p
(cd "$work" && exec env Panel__DataDir="$work/data" Caddy__AdminAddress="http://127.0.0.1:$admin" Caddy__Caddyfile="$work/caddy/Caddyfile" \
  Caddy__SitesDir="$work/caddy/sites" Caddy__AutomaticHttps=false Deploy__PortRange=30000-30999 Deploy__DrainSeconds=1 \
  Webhooks__MaxDeliveriesPerMinute=100000 ./vpspanel --urls "$panel" >>"$work/panel.log" 2>&1) &
panel_pid=$!
until curl -fs -o /dev/null "$panel/healthz"; do kill -0 "$panel_pid" || { tail -30 "$work/panel.log" >&2; exit 1; }; sleep 0.05; done
token=$("$work/vpspanel" token create --user bench@example.com --name bench --data-dir "$work/data")
# utime + stime + cutime + cstime of the panel, in ms (the worker's git children count once they are waited for).
cpu_ms() { awk -v t="$(getconf CLK_TCK)" '{ print ($14 + $15 + $16 + $17) * 1000 / t }' "/proc/$panel_pid/stat"; }
# cutime + cstime alone: the children (the worker's git), in ms.
children_ms() { awk -v t="$(getconf CLK_TCK)" '{ print ($16 + $17) * 1000 / t }' "/proc/$panel_pid/stat"; }
api() { curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "$@"; }
json() { "$py" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# The project's repository, as in run.sh (a local bare repo with one commit): the pushed commits are not in it.
git init -q --bare "$work/repo.git"; git init -q -b main "$work/src"
echo v0 > "$work/src/index.html"; git -C "$work/src" add -A; git -C "$work/src" -c user.name=b -c user.email=b@b commit -qm v0
git -C "$work/src" push -q "$work/repo.git" main
api -X POST "$panel/api/projects" -d "{\"name\":\"hooks\",\"gitUrl\":\"$work/repo.git\",\"branch\":\"main\",\"port\":8080,\"domains\":[\"hooks.bench.test\"]}" >/dev/null
secret=$(api -X POST "$panel/api/projects/hooks/webhook-secret" | json 'd["webhookSecret"]')
project=$(api "$panel/api/projects/hooks" | json 'd["id"]')
helper pushes "$secret" /webhooks/hooks "$work/pushes.txt" 60000

for r in $(seq 1 "$rounds"); do
  # A fresh pushes file each round: the ones already sent would all be duplicates.
  [ "$r" = 1 ] || helper pushes "$secret" /webhooks/hooks "$work/pushes.txt" 60000
  before=$(sqlite3 "file:$work/data/vpspanel.db?mode=ro" "SELECT count(*) FROM deployments WHERE project_id = $project AND trigger = 'webhook'")
  cpu0=$(cpu_ms); kids0=$(children_ms)
  # BENCH_PERF=FILE: a CPU profile of the panel during the pushes (run with DOTNET_PerfMapEnabled=1 for .NET names).
  [ -z "${BENCH_PERF:-}" ] || { perf record -F 299 -g -p "$panel_pid" -o "$BENCH_PERF" -- sleep "$seconds" >/dev/null 2>&1 & }
  # BENCH_DURING=COMMAND: run in the background during the pushes, with PANEL_PID and SECONDS_LEFT set (e.g. perf stat, perf trace -s).
  [ -z "${BENCH_DURING:-}" ] || { PANEL_PID=$panel_pid SECONDS_LEFT=$seconds bash -c "$BENCH_DURING" & }
  WEBHOOK_FILE=$work/pushes.txt WEBHOOK_PATH=/webhooks/hooks WEBHOOK_THREADS=2 \
    wrk -t2 -c"$connections" -d"${seconds}s" --timeout 30s --latency -s bench/webhooks.lua "$panel" > "$work/wrk-hooks.txt" 2>&1
  cpu1=$(cpu_ms); kids1=$(children_ms)
  sleep 2
  read -r hrps hp99 _ <<<"$(helper wrk "$work/wrk-hooks.txt")"
  cpu2=$(cpu_ms)
  wrk -t2 -c"$connections" -d"${seconds}s" --timeout 30s --latency "$panel/static/img/favicon.svg" > "$work/wrk-base.txt" 2>&1
  cpu3=$(cpu_ms)
  read -r brps bp99 _ <<<"$(helper wrk "$work/wrk-base.txt")"
  read -r hq hd ho <<<"$(sed -n 's/^WEBHOOKS queued=\([0-9]*\) duplicate=\([0-9]*\) other=\([0-9]*\)$/\1 \2 \3/p' "$work/wrk-hooks.txt")"
  after=$(sqlite3 "file:$work/data/vpspanel.db?mode=ro" "SELECT count(*) FROM deployments WHERE project_id = $project AND trigger = 'webhook'")
  rows=$((after - before)); lost=$(( hq > rows ? hq - rows : 0 ))
  # Deployments that ran (claimed by the worker, each with its own fetch) rather than failed in another one's pass.
  ran=$(sqlite3 "file:$work/data/vpspanel.db?mode=ro" "SELECT count(*) FROM deployments WHERE project_id = $project AND trigger = 'webhook' AND started_at IS NOT NULL")
  statuses=$(sqlite3 "file:$work/data/vpspanel.db?mode=ro" "SELECT group_concat(status || '=' || n, ' ') FROM (SELECT status, count(*) n FROM deployments WHERE project_id = $project GROUP BY status)")
  echo "round $r: pushes $hrps/s (p99 $hp99 ms), static $brps/s (p99 $bp99 ms), ratio $(awk "BEGIN{printf \"%.4f\", $hrps/$brps}"); CPU of the panel and its children per request: push $(awk "BEGIN{printf \"%.2f\", ($cpu1-$cpu0)/($hrps*$seconds)}") ms (children $(awk "BEGIN{printf \"%.2f\", ($kids1-$kids0)/($hrps*$seconds)}") ms), static $(awk "BEGIN{printf \"%.3f\", ($cpu3-$cpu2)/($brps*$seconds)}") ms; 202 $hq, duplicate $hd, other $ho; rows $rows, lost $lost; load $(cut -d' ' -f1-3 /proc/loadavg); deployments: $statuses, $ran of them claimed by the worker"
done
[ -z "${BENCH_KEEP_LOG:-}" ] || cp "$work/panel.log" "$BENCH_KEEP_LOG"
