#!/usr/bin/env bash
# Measurement 6 of bench/run.sh alone (pages and API with a big database), for working on it without the hour of the
# whole harness: one panel with the same seeded history (bench/seed.sh), the admin signed in with the login form, and
# wrk at 64 connections on the static-file baseline, the dashboard, a project page and GET /api/projects, in that order.
# Prints one line per page and round: requests/s, p99, the ratio to the static baseline of the same round, and the
# panel's CPU per request (utime + stime from /proc/PID/stat over the wrk run), the number that survives a shared box.
#   dotnet publish VpsPanel.csproj -c Release -r linux-x64 -o out/publish && nice -n 5 bash bench/pages.sh
# To compare two builds, keep a copy of the old binary and run the two alternately (VPSPANEL_BINARY=/tmp/old ...).
# BENCH_SECONDS (10), BENCH_PAGE_CONNECTIONS (64), BENCH_PAGE_PROJECTS (1000), BENCH_PAGE_DEPLOYMENTS (100000),
# BENCH_PAGES_ROUNDS (1), BENCH_PAGES (which pages: "static dashboard project api"), VPSPANEL_BINARY as in run.sh;
# BENCH_PERF=FILE records a CPU profile of the panel during the dashboard (BENCH_PERF_PAGE=project etc. for another; with DOTNET_PerfMapEnabled=1 and
# DOTNET_EnableWriteXorExecute=0 in the environment, perf report shows .NET names).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${BENCH_SECONDS:-10}
connections=${BENCH_PAGE_CONNECTIONS:-64}
projects=${BENCH_PAGE_PROJECTS:-1000}
deployments=${BENCH_PAGE_DEPLOYMENTS:-100000}
rounds=${BENCH_PAGES_ROUNDS:-1}
pages=${BENCH_PAGES:-static dashboard project api}
bin=${VPSPANEL_BINARY:-$root/out/publish/vpspanel}
[ -x "$bin" ] || { echo "no binary at $bin; publish first" >&2; exit 1; }
py=$(python3 -c 'import sys; print(sys.executable)')
helper() { "$py" "$root/bench/bench.py" "$@"; }
port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
work=$(mktemp -d /tmp/vpspanel-pages-XXXXXX)
panel_pid=""; caddy_pid=""
cleanup() {
  for p in "$panel_pid" "$caddy_pid"; do [ -n "$p" ] && { kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; }; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# shellcheck source=bench/caddy.sh
. "$root/bench/caddy.sh"
# shellcheck source=bench/seed.sh
. "$root/bench/seed.sh"
start_bench_work "$work" "$bin"
seed "$work/data/vpspanel.db" "$projects" "$deployments"
p=$(port); panel=http://127.0.0.1:$p
(cd "$work" && exec env Panel__DataDir="$work/data" Caddy__AdminAddress="http://127.0.0.1:$admin" Caddy__Caddyfile="$work/caddy/Caddyfile" \
  Caddy__SitesDir="$work/caddy/sites" Caddy__AutomaticHttps=false Deploy__PortRange=30000-30999 Deploy__DrainSeconds=1 \
  ./vpspanel --urls "$panel" >>"$work/panel.log" 2>&1) &
panel_pid=$!
until curl -fs -o /dev/null "$panel/healthz"; do kill -0 "$panel_pid" || { tail -30 "$work/panel.log" >&2; exit 1; }; sleep 0.05; done
token=$("$work/vpspanel" token create --user bench@example.com --name bench --data-dir "$work/data")
cookie=$(sign_in "$panel" "$work")
project_id=$(sqlite3 "file:$work/data/vpspanel.db?mode=ro" "SELECT id FROM projects WHERE slug = 'seed-1'")
# utime + stime of the panel, in ms.
cpu_ms() { awk -v t="$(getconf CLK_TCK)" '{ print ($14 + $15) * 1000 / t }' "/proc/$panel_pid/stat"; }

measure() { # NAME URL [HEADER]: a 200 first (a sign-in page would be a fast wrong answer), then wrk; sets rps p99 bad cpu
  local code c0 c1
  code=$(curl -s -o "$work/page.html" -w '%{http_code}' ${3:+-H "$3"} "$2")
  [ "$code" = 200 ] || { echo "$2 answered $code, not 200" >&2; head -c 2000 "$work/page.html" >&2; exit 1; }
  if [ -n "${BENCH_PERF:-}" ] && [ "$1" = "${BENCH_PERF_PAGE:-dashboard}" ]; then
    perf record -F 499 -g -p "$panel_pid" -o "$BENCH_PERF" -- sleep "$seconds" >/dev/null 2>&1 &
  fi
  c0=$(cpu_ms)
  wrk -t2 -c"$connections" -d"${seconds}s" --timeout 30s --latency ${3:+-H "$3"} "$2" > "$work/wrk-$1.txt" 2>&1
  c1=$(cpu_ms)
  read -r rps p99 bad <<<"$(helper wrk "$work/wrk-$1.txt")"
  cpu=$(awk "BEGIN{printf \"%.3f\", ($c1-$c0)/($rps*$seconds)}")
}

echo "$(basename "$bin") $(stat -c %y "$bin" | cut -d. -f1); $projects projects, $deployments deployments, $connections connections, ${seconds} s each"
for r in $(seq 1 "$rounds"); do
  srps=""
  for page in $pages; do
    case $page in
      static) measure static "$panel/static/img/favicon.svg"; srps=$rps ;;
      dashboard) measure dashboard "$panel/" "Cookie: $cookie" ;;
      project) measure project "$panel/projects/$project_id" "Cookie: $cookie" ;;
      api) measure api "$panel/api/projects" "Authorization: Bearer $token" ;;
      *) echo "unknown page $page (static dashboard project api)" >&2; exit 2 ;;
    esac
    ratio=${srps:+$(awk "BEGIN{printf \"%.4f\", $rps/$srps}")}
    printf 'round %s %-9s %9s req/s  p99 %7s ms  CPU/request %6s ms  ratio to static %-6s  errors %s  load %s\n' \
      "$r" "$page" "$rps" "$p99" "$cpu" "${ratio:--}" "$bad" "$(cut -d' ' -f1 /proc/loadavg)"
  done
done
[ -z "${BENCH_KEEP_LOG:-}" ] || cp "$work/panel.log" "$BENCH_KEEP_LOG"
