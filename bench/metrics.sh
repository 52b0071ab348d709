#!/usr/bin/env bash
# Benchmark (not a test): what sampling metrics costs the panel (Features/Metrics/MetricsSampler).
# Needs a running dockerd, busybox-static, sqlite3, python3 and a published binary:
#   dotnet publish VpsPanel.csproj -c Release -r linux-x64 -o out/publish && bash bench/metrics.sh [CONTAINERS] [SECONDS]
# Starts the panel on an empty data dir (no Caddy needed for this), then reads the panel's CPU time (utime + stime of
# /proc/<pid>/stat) over SECONDS (default 60) twice: with no container, then with CONTAINERS (default 20) busybox
# containers carrying the panel's label, so every tick samples them all. Prints the panel's CPU % of one core for both
# runs, the duration of a tick (the sampler's debug line), and one stats call to the engine with and without
# one-shot (without, dockerd waits for its next collection to fill precpu_stats). METRICS_INTERVAL (default 10) sets
# Metrics:IntervalSeconds. Absolute numbers are noisy on a shared machine; compare the two runs.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-20}
seconds=${2:-60}
interval=${METRICS_INTERVAL:-10}
bin=${VPSPANEL_BINARY:-$PWD/out/publish/vpspanel}
[ -x "$bin" ] || { echo "no binary at $bin; publish first" >&2; exit 1; }
work=$(mktemp -d /tmp/vpspanel-bench-metrics-XXXXXX)
tag=vpspanel-bench-metrics:$(basename "$work" | tr 'A-Z' 'a-z')
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
panel_pid=""
cleanup() {
  if [ -n "$panel_pid" ]; then kill "$panel_pid" 2>/dev/null || true; wait "$panel_pid" 2>/dev/null || true; fi
  for c in $(docker ps -aq --filter "label=vpspanel.bench-metrics=$work"); do docker rm -f "$c" >/dev/null 2>&1 || true; done
  docker rmi -f "$tag" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/image" "$work/app"
cp /bin/busybox "$work/image/busybox"
printf 'FROM scratch\nCOPY busybox /bin/busybox\nCMD ["/bin/busybox", "sleep", "3600"]\n' > "$work/image/Dockerfile"
docker build -q -t "$tag" "$work/image" >/dev/null
cp "$bin" "$work/app/vpspanel"

http=$(port)
(cd "$work/app" && exec env Panel__DataDir="$work/data" Caddy__AdminAddress="http://127.0.0.1:$(port)" Caddy__SitesDir="$work/caddy/sites" \
  Metrics__IntervalSeconds="$interval" Logging__LogLevel__VpsPanel.Features.Metrics=Debug \
  ./vpspanel --urls "http://127.0.0.1:$http" >"$work/panel.log" 2>&1) &
panel_pid=$!
until curl -s -o /dev/null "http://127.0.0.1:$http/healthz"; do sleep 0.1; done
panel_id=$(sqlite3 "file:$work/data/vpspanel.db?mode=ro" "SELECT value FROM panel_options WHERE key = 'panel.id'")
pid=$(pgrep -P "$panel_pid" -x vpspanel || echo "$panel_pid")
ticks_per_second=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
measure() {
  local t0 t1 w0 w1
  t0=$(cpu_ticks); w0=$(date +%s.%N)
  sleep "$seconds"
  t1=$(cpu_ticks); w1=$(date +%s.%N)
  python3 -c "print('%.2f' % (100.0 * ($t1 - $t0) / $ticks_per_second / ($w1 - $w0)))"
}
tick_stats() { # median and max of the tick durations logged since line $1 of the log, and the containers per tick
  tail -n +"$1" "$work/panel.log" | sed -n 's/.*metrics tick: \([0-9]*\) containers sampled in \([0-9]*\) ms, tick \([0-9]*\) ms.*/\1 \2 \3/p' |
    python3 -c 'import sys,statistics; r=[list(map(int,l.split())) for l in sys.stdin]; t=[x[2] for x in r]; print("%d ticks, %s containers each, tick median %d ms, max %d ms" % (len(r), sorted(set(x[0] for x in r)), statistics.median(t), max(t)) if r else "no ticks")'
}

sleep 15 # startup work (sweeps, first ticks) out of the way
line=$(($(wc -l < "$work/panel.log") + 1))
idle=$(measure)
echo "no containers:      panel CPU ${idle} % of one core over ${seconds} s; $(tick_stats "$line")"

for i in $(seq 1 "$count"); do
  docker run -d --name "vpspanel-bench-metrics-$i-$$" --label "vpspanel.panel=$panel_id" --label "vpspanel.bench-metrics=$work" \
    --memory 32m "$tag" >/dev/null
done
sleep $((interval * 2 + 2)) # every container has a previous reading
line=$(($(wc -l < "$work/panel.log") + 1))
busy=$(measure)
echo "$count containers:      panel CPU ${busy} % of one core over ${seconds} s; $(tick_stats "$line")"
rows=$(sqlite3 "file:$work/data/vpspanel.db?mode=ro" "SELECT COUNT(*) FROM container_metrics WHERE tier = 0")
echo "raw container points stored: $rows"

one=$(docker ps -q --filter "label=vpspanel.bench-metrics=$work" | head -1)
api=$(docker version --format '{{.Server.APIVersion}}')
stats_call() { # mean seconds of 5 calls one after the other
  local s e
  s=$(date +%s.%N)
  for _ in 1 2 3 4 5; do curl -s -o /dev/null --unix-socket /var/run/docker.sock "http://docker/v$api/containers/$one/stats?$1"; done
  e=$(date +%s.%N)
  python3 -c "print('%.2f' % (($e - $s) / 5))"
}
echo "one stats call (mean of 5): stream=false&one-shot=true $(stats_call 'stream=false&one-shot=true') s, stream=false $(stats_call 'stream=false') s"
