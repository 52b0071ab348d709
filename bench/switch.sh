#!/usr/bin/env bash
# Benchmark (not a test): what the Caddy side of a deploy's switch costs with N live sites, the old way and the new.
# No panel and no Docker, so it stays readable on a busy machine: a real Caddy on loopback ports with N site files
# shaped like the panel's (CaddySite.Render), and the admin API calls a switch makes, timed with curl:
#   before (every change): read every site file, POST /adapt for each, write, POST /load once
#   after  (one project):  POST /adapt for the switched file, write it, POST /load once
# The end-to-end switch step at N sites is in `BENCH_SITES=N bash bench/deploy.sh` (noisier: it runs real deploys).
#   bash bench/switch.sh [ROUNDS] [SITES...]      (defaults: 5 rounds, 30 and 120 sites)
set -euo pipefail
rounds=${1:-5}; shift || true
sizes=("${@:-30 120}"); read -r -a sizes <<<"${sizes[*]}"
work=$(mktemp -d /tmp/vpspanel-switchbench-XXXXXX)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
caddy_pid=""
cleanup() { if [ -n "$caddy_pid" ]; then kill "$caddy_pid" 2>/dev/null || true; fi; rm -rf "$work"; }
trap cleanup EXIT

admin=$(port)
mkdir -p "$work/sites"
cat > "$work/Caddyfile" <<CADDY
{
	admin 127.0.0.1:$admin
	http_port $(port)
	https_port $(port)
	storage file_system $work/storage
	grace_period 5s
}
import $work/sites/*.caddy
CADDY
HOME=$work XDG_DATA_HOME=$work/data XDG_CONFIG_HOME=$work/config caddy run --config "$work/Caddyfile" --adapter caddyfile >"$work/caddy.log" 2>&1 &
caddy_pid=$!
until curl -fs -o /dev/null "http://127.0.0.1:$admin/config/"; do sleep 0.1; done

site() { # slug port: the text CaddySite.Render makes for one HTTP-only domain
  printf '# Managed by VpsPanel for project %s.\nhttp://%s.bench.test {\n\treverse_proxy 127.0.0.1:%s {\n\t\tlb_try_duration 10s\n\t\tlb_try_interval 250ms\n\t}\n}\n' "$1" "$1" "$2"
}
post() { curl -fsS -o /dev/null -X POST -H 'Content-Type: text/caddyfile' --data-binary "@$2" "http://127.0.0.1:$admin/$1"; }
now() { date +%s.%N; }
median() { sort -n | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }

for n in "${sizes[@]}"; do
  rm -f "$work"/sites/*.caddy
  for i in $(seq 1 "$n"); do site "s$i" 20000 > "$work/sites/s$i.caddy"; done
  post load "$work/Caddyfile"
  old=""; new=""
  for r in $(seq 1 "$rounds"); do
    p=$((20000 + r))
    t0=$(now)
    for f in "$work"/sites/*.caddy; do cat "$f" >/dev/null; post adapt "$f"; done
    site s1 "$p" > "$work/sites/s1.caddy.tmp"; mv "$work/sites/s1.caddy.tmp" "$work/sites/s1.caddy"
    post load "$work/Caddyfile"
    old="$old $(echo "$(now) - $t0" | bc)"
    t0=$(now)
    site s1 "$((p + 100))" > "$work/sites/s1.caddy.tmp"
    post adapt "$work/sites/s1.caddy.tmp"
    mv "$work/sites/s1.caddy.tmp" "$work/sites/s1.caddy"
    post load "$work/Caddyfile"
    new="$new $(echo "$(now) - $t0" | bc)"
  done
  mo=$(tr ' ' '\n' <<<"$old" | grep . | median); mn=$(tr ' ' '\n' <<<"$new" | grep . | median)
  printf '%4s sites: every file %.3f s (%.2f ms/site) | one file %.3f s (%.2f ms/site) | %.1fx\n' "$n" "$mo" \
    "$(echo "$mo * 1000 / $n" | bc -l)" "$mn" "$(echo "$mn * 1000 / $n" | bc -l)" "$(echo "$mo / $mn" | bc -l)"
done
