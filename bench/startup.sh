#!/usr/bin/env bash
# Measurement 5 of run.sh alone, for working on it (not a test): process start to the first 200 on /healthz, as
# run.sh's start_panel does it (a migrated data dir, the bench Caddy's admin API, the same environment, curl every
# 10 ms), with the CPU the process used until then (user+sys from /proc/PID/stat) next to the wall time: the box is
# shared, and CPU time is the steadier number. Several binaries are measured in turn within each round (alternating,
# so load on the box hits them alike) and each gets the median of its rounds.
#   bash bench/startup.sh [-n ROUNDS] [--idle SECONDS] BINARY...
# A BINARY next to its vpspanel.dll (a publish with -p:PublishSingleFile=false) is run from a copy of its folder, so
# runtime settings can be tried by editing that folder's vpspanel.runtimeconfig.json, without a new publish.
# --idle N: the data dirs get run.sh's idle history (100 projects, 10,000 deployments; BENCH_IDLE_PROJECTS and
# BENCH_IDLE_DEPLOYMENTS) and VmRSS is read N seconds after the first 200 (run.sh measurement 4).
# The empty app (out/bench-emptyapp/emptyapp, published by run.sh; STARTUP_EMPTYAPP elsewhere, "" for none) is
# measured as one more column when it exists.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
rounds=5; idle=0
while [ $# -gt 0 ]; do
  case $1 in
    -n) rounds=$2; shift 2 ;;
    --idle) idle=$2; shift 2 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || set -- "$root/out/publish/vpspanel"
empty_bin=${STARTUP_EMPTYAPP-$root/out/bench-emptyapp/emptyapp}
py=$(python3 -c 'import sys; print(sys.executable)')
helper() { "$py" "$root/bench/bench.py" "$@"; }
port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
tck=$(getconf CLK_TCK)
cpu_s() { awk -v t="$tck" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / t }' "/proc/$1/stat"; } # fields 14, 15 after pid and comm
rss_mb() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

work=$(mktemp -d /tmp/vpspanel-startup-XXXXXX)
pid=""; caddy_pid=""
cleanup() {
  for p in "$pid" "$caddy_pid"; do
    if [ -n "$p" ]; then kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; fi
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=bench/caddy.sh
. "$root/bench/caddy.sh"
# shellcheck source=bench/seed.sh
. "$root/bench/seed.sh"
start_bench_caddy "$work"

# One folder per binary (its own copy, extract dir and data dir); the CLI call that makes the data dir also extracts
# the native libraries, as run.sh's does before its timed starts.
names=(); kinds=()
i=0
for b in "$@"; do
  i=$((i + 1)); d=$work/b$i; mkdir -p "$d/data"
  # A publish without PublishSingleFile (-p:PublishSingleFile=false) is measured as its whole folder.
  if [ -f "$(dirname "$b")/vpspanel.dll" ]; then cp -r "$(dirname "$b")/." "$d/"; ln -s "$(basename "$b")" "$d/bin"; else cp "$b" "$d/bin"; fi
  DOTNET_BUNDLE_EXTRACT_BASE_DIR=$d/extract "$d/bin" user add --email bench@example.com --admin --data-dir "$d/data" \
    >/dev/null <<<'bench-password-123'
  [ "$idle" = 0 ] || seed "$d/data/vpspanel.db" "${BENCH_IDLE_PROJECTS:-100}" "${BENCH_IDLE_DEPLOYMENTS:-10000}"
  names+=("$b"); kinds+=(panel)
done
if [ -n "$empty_bin" ] && [ -x "$empty_bin" ]; then
  i=$((i + 1)); mkdir -p "$work/b$i"; cp "$empty_bin" "$work/b$i/bin"
  names+=("$empty_bin"); kinds+=(empty)
fi

start() { # N: one timed start of binary N; prints "wall cpu [rss]"
  local d=$work/b$1 p t0 wall cpu
  p=$(port); t0=$(now)
  if [ "${kinds[$1 - 1]}" = panel ]; then
    (cd "$d" && exec env DOTNET_BUNDLE_EXTRACT_BASE_DIR="$d/extract" Panel__DataDir="$d/data" Caddy__AdminAddress="http://127.0.0.1:$admin" \
      Caddy__Caddyfile="$work/caddy/Caddyfile" Caddy__SitesDir="$work/caddy/sites" Caddy__AutomaticHttps=false \
      Deploy__PortRange=30000-30999 Deploy__DrainSeconds=1 Webhooks__MaxDeliveriesPerMinute=100000 \
      ./bin --urls "http://127.0.0.1:$p" >>"$d/log" 2>&1) &
  else
    (cd "$d" && exec ./bin --urls "http://127.0.0.1:$p" >>"$d/log" 2>&1) &
  fi
  pid=$!
  until curl -fs -o /dev/null "http://127.0.0.1:$p/healthz"; do
    kill -0 "$pid" 2>/dev/null || { echo "${names[$1 - 1]} exited before its first 200:" >&2; tail -20 "$d/log" >&2; exit 1; }
    sleep 0.01
  done
  wall=$(awk "BEGIN { printf \"%.2f\", $(now) - $t0 }"); cpu=$(cpu_s "$pid")
  if [ "$idle" != 0 ]; then sleep "$idle"; echo "$wall $cpu $(rss_mb "$pid")"; else echo "$wall $cpu"; fi
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
}

# One untimed start each first: the page cache holds every binary alike before the timed rounds.
for n in $(seq 1 ${#names[@]}); do start "$n" >/dev/null; done
declare -A walls cpus rsss
for r in $(seq 1 "$rounds"); do
  for n in $(seq 1 ${#names[@]}); do
    read -r w c m < <(start "$n")
    walls[$n]+="$w "; cpus[$n]+="$c "; rsss[$n]+="${m:-} "
    printf 'round %s  %-50s wall %5s s  cpu %5s s%s\n' "$r" "${names[$n - 1]}" "$w" "$c" "${m:+  rss $m MB}" >&2
  done
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
for n in $(seq 1 ${#names[@]}); do
  b=${names[$n - 1]}
  # On disk: the single file, or the whole folder of a publish without PublishSingleFile.
  if [ -f "$(dirname "$b")/vpspanel.dll" ]; then bytes=$(du -sb "$(dirname "$b")" | cut -f1); else bytes=$(stat -c %s "$b"); fi
  # shellcheck disable=SC2086 # the lists are space-separated on purpose
  printf '%-50s  %5s MB  wall %s s  cpu %s s%s\n' "$b" "$(awk "BEGIN { printf \"%.1f\", $bytes / 1048576 }")" \
    "$(helper median ${walls[$n]})" "$(helper median ${cpus[$n]})" "$([ "$idle" = 0 ] || echo "  idle RSS $(helper median ${rsss[$n]}) MB")"
done
