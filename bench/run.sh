#!/usr/bin/env bash
# The benchmark harness (issue 20; not a test): runs the published binary against the real engine and a real Caddy
# on loopback ports and measures, each next to a baseline measured in the same run:
#   1 deploy overhead   2 real build   3 redeploy under load   4 memory   5 startup   6 pages and API
#   7 webhook ingestion   8 binary size
# Prints a Markdown table and writes the same as JSON to bench/results/<date>.json (BENCH_RESULTS_DIR elsewhere).
#   dotnet publish VpsPanel.csproj -c Release -r linux-x64 -o out/publish && nice -n 5 bash bench/run.sh [--quick]
# --quick: one round of each at tiny sizes (the smoke test, tests/VpsPanel.Tests/Bench). Every size below can be set
# by its variable (BENCH_DEPLOY_ROUNDS=3 ...). Needs what tests/run.sh installs (dockerd, caddy, git, busybox-static,
# sqlite3, wrk, hey, python3) and the .NET SDK for the empty app (published once into out/bench-emptyapp).
# Everything it creates (containers, networks, images, Caddy, temp dirs) is removed at the end, also on failure.
# Absolute times depend on the machine and its load (printed with the table): read the ratios.
# One measurement alone, for working on it: bench/pages.sh (6), bench/webhooks.sh (7), bench/deploy.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
quick=0; [ "${1:-}" = --quick ] && quick=1
q() { [ $quick = 1 ] && echo "$1" || echo "$2"; } # q QUICK FULL
deploy_rounds=${BENCH_DEPLOY_ROUNDS:-$(q 1 5)}        # 1: timed redeploys of the tiny app, each with the baseline
build_rounds=${BENCH_BUILD_ROUNDS:-$(q 1 3)}          # 2: cold + warm builds, each with the baseline
load_redeploys=${BENCH_LOAD_REDEPLOYS:-$(q 1 10)}     # 3: redeploys under constant load
load_rate=${BENCH_LOAD_RATE:-$(q 40 200)}             # 3: requests/s through Caddy (hey: 4 workers)
memory_deploys=${BENCH_MEMORY_DEPLOYS:-$(q 3 50)}     # 4: deploys of the tiny app before "after N deploys"
parallel=${BENCH_PARALLEL:-$(q 2 5)}                  # 4: parallel deploys for the peak
idle_projects=${BENCH_IDLE_PROJECTS:-$(q 10 100)}     # 4: database at idle
idle_deployments=${BENCH_IDLE_DEPLOYMENTS:-$(q 100 10000)}
idle_wait=${BENCH_IDLE_WAIT:-$(q 3 20)}               # 4: seconds after the first 200 before reading idle memory
startup_rounds=${BENCH_STARTUP_ROUNDS:-$(q 1 5)}      # 5
page_projects=${BENCH_PAGE_PROJECTS:-$(q 20 1000)}    # 6
page_deployments=${BENCH_PAGE_DEPLOYMENTS:-$(q 200 100000)}
seconds=${BENCH_SECONDS:-$(q 2 10)}                   # 6, 7: wrk run length
webhook_connections=${BENCH_WEBHOOK_CONNECTIONS:-16}  # 7
results=${BENCH_RESULTS_DIR:-$root/bench/results}

bin=${VPSPANEL_BINARY:-$root/out/publish/vpspanel}
[ -x "$bin" ] || { echo "no binary at $bin; publish first (dotnet publish VpsPanel.csproj -c Release -r linux-x64 -o out/publish)" >&2; exit 1; }
for tool in docker caddy git sqlite3 wrk hey python3 curl busybox; do
  command -v "$tool" >/dev/null || { echo "$tool is missing (tests/run.sh installs what the bench needs)" >&2; exit 1; }
done
# The baseline builds with the CLI the panel runs (Build:DockerCli): Debian's, whose BuildKit needs no buildx plugin.
docker_cli=${BENCH_DOCKER_CLI:-/usr/bin/docker}
# The interpreter itself, once: python3 on PATH may be a shim (pyenv) that runs several bash scripts per call, which
# took seconds per call on the loaded box and showed up in the timed loops.
py=$(python3 -c 'import sys; print(sys.executable)')
helper() { "$py" "$root/bench/bench.py" "$@"; }

load_before=$(cut -d' ' -f1 /proc/loadavg)
run=bench$(date +%s)$$
work=$(mktemp -d /tmp/vpspanel-bench-XXXXXX)
rows=$work/rows.jsonl; : > "$rows"
log() { printf '==> %s %s\n' "$(date +%T)" "$*" >&2; }
rec() { helper record "$rows" "$@"; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.4f\\n\", $1 }"; }
port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

panel_pid=""; empty_pid=""; caddy_pid=""; hey_pid=""; panel_ids=()
cleanup() {
  for p in "$hey_pid" "$panel_pid" "$empty_pid" "$caddy_pid"; do
    if [ -n "$p" ]; then kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; fi
  done
  for id in "${panel_ids[@]}"; do
    for c in $(docker ps -aq --filter "label=vpspanel.panel=$id"); do docker rm -f "$c" >/dev/null 2>&1 || true; done
    for n in $(docker network ls -q --filter "label=vpspanel.panel=$id"); do docker network rm "$n" >/dev/null 2>&1 || true; done
    for i in $(docker images -q --filter "reference=vpspanel/$id-*" | sort -u); do docker rmi -f "$i" >/dev/null 2>&1 || true; done
  done
  for c in $(docker ps -aq --filter "label=vpspanel.bench=$run"); do docker rm -f "$c" >/dev/null 2>&1 || true; done
  for i in $(docker images -q --filter "label=vpspanel.bench=$run" | sort -u); do docker rmi -f "$i" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- The empty app: published once with the panel's options (bench/EmptyApp), rebuilt when its sources change.
empty_bin=${BENCH_EMPTYAPP:-$root/out/bench-emptyapp/emptyapp}
if [ -z "${BENCH_EMPTYAPP:-}" ] && { [ ! -x "$empty_bin" ] || [ -n "$(find bench/EmptyApp -maxdepth 1 -type f -newer "$empty_bin")" ]; }; then
  log "publishing the empty app (bench/EmptyApp) to out/bench-emptyapp"
  dotnet publish bench/EmptyApp/EmptyApp.csproj -c Release -r linux-x64 -o out/bench-emptyapp -nologo -v quiet >"$work/publish.log" 2>&1 ||
    { tail -40 "$work/publish.log" >&2; exit 1; }
fi
mkdir -p "$work/app" "$work/empty"
cp "$bin" "$work/app/vpspanel"; cp "$empty_bin" "$work/empty/emptyapp"
# Native libraries are extracted here on the first start (the CLI call below), not into ~/.net.
export DOTNET_BUNDLE_EXTRACT_BASE_DIR=$work/extract

# --- Caddy on loopback ports: the panel's sites directory, and one for the hand-made baseline's site.
# shellcheck source=bench/caddy.sh
. "$root/bench/caddy.sh"
start_bench_caddy "$work" "$work/caddy/manual"
# shellcheck source=bench/seed.sh
. "$root/bench/seed.sh"

# --- Processes and memory.
rss_mb() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
dirty_mb() { awk '/^Private_Dirty/ {printf "%.1f", $2 / 1024}' "/proc/$1/smaps_rollup"; }
wait_200() { # URL PID: until the URL answers 200; fails when the process died
  until curl -fs -o /dev/null "$1"; do
    kill -0 "$2" 2>/dev/null || { echo "process $2 exited before $1 answered" >&2; return 1; }
    sleep 0.01
  done
}
start_panel() { # DATADIR: starts the panel, sets panel_pid, panel (its URL) and started (seconds to the first 200)
  local p t0; p=$(port); panel=http://127.0.0.1:$p
  t0=$(now)
  (cd "$work/app" && exec env Panel__DataDir="$1" Caddy__AdminAddress="http://127.0.0.1:$admin" Caddy__Caddyfile="$work/caddy/Caddyfile" \
    Caddy__SitesDir="$work/caddy/sites" Caddy__AutomaticHttps=false Deploy__PortRange=30000-30999 Deploy__DrainSeconds=1 \
    Webhooks__MaxDeliveriesPerMinute=100000 ./vpspanel --urls "$panel" >>"$work/panel.log" 2>&1) &
  panel_pid=$!
  wait_200 "$panel/healthz" "$panel_pid" || { tail -30 "$work/panel.log" >&2; exit 1; }
  started=$(calc "$(now) - $t0")
}
start_empty() { # sets empty_pid, empty (URL), started
  local p t0; p=$(port); empty=http://127.0.0.1:$p
  t0=$(now)
  (cd "$work/empty" && exec ./emptyapp --urls "$empty" >>"$work/empty.log" 2>&1) &
  empty_pid=$!
  wait_200 "$empty/healthz" "$empty_pid"
  started=$(calc "$(now) - $t0")
}
stop() { # PID
  kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true
}
new_data_dir() { # NAME: a migrated database with the bench's admin (the CLI creates and migrates it)
  mkdir -p "$work/$1"
  printf 'bench-password-123\n' | "$work/app/vpspanel" user add --email bench@example.com --admin --data-dir "$work/$1" >/dev/null
  panel_ids+=("$(sqlite3 "$work/$1/vpspanel.db" "SELECT value FROM panel_options WHERE key = 'panel.id'")")
}
wrk_page() { # NAME URL CONNECTIONS [HEADER]: a 200 first (a sign-in page would be a fast wrong answer), then wrk
  local code
  code=$(curl -s -o "$work/page.html" -w '%{http_code}' ${4:+-H "$4"} "$2")
  [ "$code" = 200 ] || { echo "$2 answered $code, not 200" >&2; head -c 2000 "$work/page.html" >&2; exit 1; }
  wrk -t2 -c"$3" -d"${seconds}s" --timeout 30s --latency ${4:+-H "$4"} "$2" > "$work/wrk-$1.txt" 2>&1
  helper wrk "$work/wrk-$1.txt"
}

# ============ 8. Binary size, 5. Startup ============
log "8 binary size, 5 startup ($startup_rounds rounds)"
size=$(calc "$(stat -c %s "$work/app/vpspanel") / 1048576"); esize=$(calc "$(stat -c %s "$work/empty/emptyapp") / 1048576")
rec binary "published binary (self-contained, single file, trimmed)" MB "$size" "$esize" "value<=45"
new_data_dir startup
panel_times=(); empty_times=()
for _ in $(seq 1 "$startup_rounds"); do
  start_panel "$work/startup"; panel_times+=("$started"); stop "$panel_pid"; panel_pid=""
  start_empty; empty_times+=("$started"); stop "$empty_pid"; empty_pid=""
done
rec startup "process start to first 200 on /healthz, median of $startup_rounds" s "$(helper median "${panel_times[@]}")" "$(helper median "${empty_times[@]}")" "value<=1"

# ============ 4. Memory at idle, then the deploy measurements on the same panel ============
log "4 memory at idle with $idle_projects projects and $idle_deployments deployments"
new_data_dir main
seed "$work/main/vpspanel.db" "$idle_projects" "$idle_deployments"
start_panel "$work/main"; start_empty
sleep "$idle_wait"
rec memory "RSS at idle ($idle_projects projects, $idle_deployments deployments; ${idle_wait} s after start)" MB "$(rss_mb "$panel_pid")" "$(rss_mb "$empty_pid")" "value<=80"
rec memory "private dirty at idle" MB "$(dirty_mb "$panel_pid")" "$(dirty_mb "$empty_pid")" "-"
empty_rss=$(rss_mb "$empty_pid"); empty_dirty=$(dirty_mb "$empty_pid")
stop "$empty_pid"; empty_pid=""

token=$("$work/app/vpspanel" token create --user bench@example.com --name bench --data-dir "$work/main")
api() { curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "$@"; }
json() { "$py" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# The tiny app (busybox httpd, FROM scratch) in a local bare repository.
git init -q --bare "$work/repo.git"
git init -q -b main "$work/src"
mkdir -p "$work/src/www"; cp "$(command -v busybox)" "$work/src/busybox"
printf 'FROM scratch\nCOPY busybox /bin/busybox\nCOPY www /www\nEXPOSE 8080\nCMD ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]\n' > "$work/src/Dockerfile"
commit() { # DIR REPO TEXT
  echo "$3" > "$1/www/index.html"; git -C "$1" add -A; git -C "$1" -c user.name=b -c user.email=b@b commit -qm "$3"; git -C "$1" push -q "$2" main
  git -C "$1" rev-parse HEAD
}
commit "$work/src" "$work/repo.git" v0 >/dev/null
new_project() { # SLUG REPO
  api -X POST "$panel/api/projects" -d "{\"name\":\"$1\",\"gitUrl\":\"$2\",\"branch\":\"main\",\"port\":8080,\"domains\":[\"$1.bench.test\"]}" >/dev/null
}
served() { curl -s -m 5 -H "Host: $1.bench.test" "http://127.0.0.1:$http/" 2>/dev/null || true; }
status_of() { api "$panel/api/deployments/$1" | json 'd["status"]'; }
wait_served() { # SLUG TEXT DEPLOYMENT: until Caddy serves TEXT for the project; fails when the deployment failed
  local n=0
  [ -n "$3" ] || { echo "no deployment to wait for ($1)" >&2; exit 1; }
  until [ "$(served "$1")" = "$2" ]; do
    sleep 0.02; n=$((n + 1))
    # Only now and then: asking the API on every poll would slow the measured loop.
    if [ $((n % 50)) -eq 0 ]; then
      case $(status_of "$3") in failed|cancelled|superseded) echo "deployment $3 of $1 ended $(status_of "$3"):" >&2; api "$panel/api/deployments/$3" >&2; exit 1 ;; esac
    fi
  done
}
deploy_api() { api -X POST "$panel/api/projects/$1/deployments" | json 'd["id"]'; }
step() { # DEPLOYMENT STEP: seconds the step took
  api "$panel/api/deployments/$1" | json "sum((s['durationSeconds'] or 0) for s in d['steps'] if s['step'] == '$2')"
}
new_project app "$work/repo.git"
secret=$(api -X POST "$panel/api/projects/app/webhook-secret" | json 'd["webhookSecret"]')
wait_served app v0 "$(deploy_api app)" # warms the build cache (the busybox layer)
deploys=1

# ============ 1. Deploy overhead ============
log "1 deploy overhead ($deploy_rounds rounds)"
# The baseline by hand: its own clone, BuildKit as the panel uses, docker run, first 200, a Caddy site and reload, the old one stopped.
git clone -q -b main "$work/repo.git" "$work/manual"
manual_cid=""
baseline_deploy() { # TEXT: sets base_total, base_build, base_start
  local t0 t1 t2 p cid
  t0=$(now)
  git -C "$work/manual" fetch -q origin main; git -C "$work/manual" checkout -q --detach FETCH_HEAD
  DOCKER_BUILDKIT=1 "$docker_cli" build -q --label "vpspanel.bench=$run" -t "vpspanel-bench/$run:manual" "$work/manual" >/dev/null
  t1=$(now)
  p=$(port)
  cid=$(docker run -d --label "vpspanel.bench=$run" -p "127.0.0.1:$p:8080" "vpspanel-bench/$run:manual")
  t2=$(now)
  until [ "$(curl -s "http://127.0.0.1:$p/" 2>/dev/null)" = "$1" ]; do sleep 0.02; done
  printf 'http://manual.bench.test {\n\treverse_proxy 127.0.0.1:%s\n}\n' "$p" > "$work/caddy/manual/manual"
  curl -fsS -o /dev/null -X POST -H 'Content-Type: text/caddyfile' --data-binary "@$work/caddy/Caddyfile" "http://127.0.0.1:$admin/load"
  until [ "$(served manual)" = "$1" ]; do sleep 0.02; done
  if [ -n "$manual_cid" ]; then docker rm -f "$manual_cid" >/dev/null; fi
  manual_cid=$cid
  base_total=$(calc "$(now) - $t0"); base_build=$(calc "$t1 - $t0"); base_start=$(calc "$t2 - $t1")
}
push_deploy() { # TEXT DELIVERY: commits TEXT, sends its signed push, waits until Caddy serves it; sets id and total
  local sha signature t0
  sha=$(commit "$work/src" "$work/repo.git" "$1")
  # Body and signature first, so the timed part is the request alone (a Python start costs seconds on a loaded box).
  signature=$(helper push-file "$secret" refs/heads/main "$sha" "$work/push.json")
  t0=$(now)
  curl -fsS -o "$work/push-answer.json" -H 'Content-Type: application/json' -H 'X-GitHub-Event: push' -H "X-GitHub-Delivery: $2" \
    -H "X-Hub-Signature-256: $signature" --data-binary "@$work/push.json" "$panel/webhooks/app"
  id=$(sed -n 's/.*"deploymentId":\([0-9]*\).*/\1/p' "$work/push-answer.json")
  wait_served app "$1" "$id"
  total=$(calc "$(now) - $t0"); deploys=$((deploys + 1))
}
# One untimed push first, as the by-hand side has its untimed first run: the panel's first push after it started pays
# for compiling the push path once (webhook, push order, LibGit2Sharp's native library; ~0.2 s measured on
# 2026-12-03), which the manual deploy above does not warm. The rounds measure a panel that has taken a push before.
push_deploy w0 "$run-warm"
baseline_deploy w0
totals=(); base_totals=(); owns=(); base_owns=()
for r in $(seq 1 "$deploy_rounds"); do
  push_deploy "v$r" "$run-$r"
  own=$(calc "$total - $(step "$id" building) - $(step "$id" starting)")
  baseline_deploy "v$r"
  totals+=("$total"); base_totals+=("$base_total"); owns+=("$own"); base_owns+=("$(calc "$base_total - $base_build - $base_start")")
  log "  round $r: panel $total s (own $own s; steps: $(api "$panel/api/deployments/$id" | json '" ".join("%s=%.2f" % (s["step"], s["durationSeconds"] or 0) for s in d["steps"])')), by hand $base_total s (build $base_build s, run $base_start s)"
done
rec deploy "push to new version served, mean of $deploy_rounds" s "$(calc "($(IFS=+; echo "${totals[*]}")) / $deploy_rounds")" \
  "$(calc "($(IFS=+; echo "${base_totals[*]}")) / $deploy_rounds")" "ratio<=1.15"
rec deploy "own share: total - build step - start step, mean" s "$(calc "($(IFS=+; echo "${owns[*]}")) / $deploy_rounds")" \
  "$(calc "($(IFS=+; echo "${base_owns[*]}")) / $deploy_rounds")" "value<=0.25" "baseline: by hand minus docker build minus docker run"
docker rm -f "$manual_cid" >/dev/null; rm -f "$work/caddy/manual/manual"

# ============ 2. Real build ============
log "2 real build ($build_rounds rounds cold and warm)"
debian=${BENCH_DEBIAN_IMAGE:-$(docker images --filter label=vpspanel.test.cache=debian-bookworm --format '{{.Repository}}:{{.Tag}}' | head -1)}
if [ -z "$debian" ]; then
  echo "no local Debian image (the tests make one: tests/VpsPanel.Tests/Harness/TestDebian.cs); set BENCH_DEBIAN_IMAGE" >&2; exit 1
fi
git init -q --bare "$work/build.git"
git init -q -b main "$work/build"
mkdir -p "$work/build/www"; cp "$(command -v busybox)" "$work/build/busybox"
# Two independent stages doing real work on the Debian image (hash its binaries, list and hash its libraries); a
# nonce file at the top of each makes a build cold without touching the engine's cache of anyone else.
binaries_work='cat /usr/bin/* | sha256sum > /binaries.txt && ls -lR /usr/bin | sha256sum >> /binaries.txt'
libraries_work='find / -xdev -type f | sort | sha256sum > /libraries.txt && cat /usr/lib/x86_64-linux-gnu/*.so* | sha256sum >> /libraries.txt'
if [ $quick = 1 ]; then binaries_work='ls -lR /usr/bin > /binaries.txt'; libraries_work='ls -lR /usr/lib > /libraries.txt'; fi
cat > "$work/build/Dockerfile" <<DOCKERFILE
FROM $debian AS binaries
COPY nonce /nonce
RUN $binaries_work
FROM $debian AS libraries
COPY nonce /nonce
RUN $libraries_work
FROM scratch
COPY busybox /bin/busybox
COPY --from=binaries /binaries.txt /www/binaries.txt
COPY --from=libraries /libraries.txt /www/libraries.txt
COPY www /www
EXPOSE 8080
CMD ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
DOCKERFILE
echo "$run-0" > "$work/build/nonce"
commit "$work/build" "$work/build.git" b0 >/dev/null
new_project build "$work/build.git"
wait_served build b0 "$(deploy_api build)"
git clone -q -b main "$work/build.git" "$work/build-manual"
manual_build() { local t0; t0=$(now); DOCKER_BUILDKIT=1 "$docker_cli" build -q --label "vpspanel.bench=$run" -t "vpspanel-bench/$run:build" "$work/build-manual" >/dev/null; calc "$(now) - $t0"; }
cold=(); base_cold=(); warm=(); base_warm=()
for r in $(seq 1 "$build_rounds"); do
  echo "$run-$r" > "$work/build/nonce"; commit "$work/build" "$work/build.git" "b$r" >/dev/null
  id=$(deploy_api build); wait_served build "b$r" "$id"; cold+=("$(step "$id" building)")
  id=$(deploy_api build); wait_served build "b$r" "$id"
  # The redeploy of the same commit is the warm build: it must not be cut short by an earlier "already live" answer.
  until [ "$(status_of "$id")" = live ]; do sleep 0.1; done
  warm+=("$(step "$id" building)")
  echo "$run-manual-$r" > "$work/build-manual/nonce"; base_cold+=("$(manual_build)"); base_warm+=("$(manual_build)")
  log "  round $r: panel cold ${cold[-1]} s warm ${warm[-1]} s; docker build cold ${base_cold[-1]} s warm ${base_warm[-1]} s"
done
rec build "cold build step, median of $build_rounds" s "$(helper median "${cold[@]}")" "$(helper median "${base_cold[@]}")" "-"
rec build "warm build step, median" s "$(helper median "${warm[@]}")" "$(helper median "${base_warm[@]}")" "-"

# ============ 3. Redeploy under load ============
log "3 redeploy under load ($load_redeploys redeploys at $load_rate requests/s)"
hey_run() { # SECONDS OUT
  hey -z "$1" -c 4 -q "$((load_rate / 4))" -host app.bench.test "http://127.0.0.1:$http/" > "$2" 2>&1
}
hey -z 3600s -c 4 -q "$((load_rate / 4))" -host app.bench.test "http://127.0.0.1:$http/" > "$work/hey-deploys.txt" 2>&1 &
hey_pid=$!
sleep 1
t0=$(now)
for r in $(seq 1 "$load_redeploys"); do
  commit "$work/src" "$work/repo.git" "l$r" >/dev/null
  wait_served app "l$r" "$(deploy_api app)"; deploys=$((deploys + 1))
done
sleep 1
during=$(calc "$(now) - $t0 + 1")
kill -INT "$hey_pid"; wait "$hey_pid" || true; hey_pid=""
hey_run "$(printf '%.0fs' "$during")" "$work/hey-quiet.txt"
out=$(helper hey "$work/hey-deploys.txt"); read -r p99 answers failed <<<"$out"
out=$(helper hey "$work/hey-quiet.txt"); read -r qp99 qanswers qfailed <<<"$out"
rec load "failed requests during $load_redeploys redeploys ($answers requests)" requests "$failed" "$qfailed" "value<=0" "baseline: $qanswers requests, no redeploy"
rec load "p99 latency during the redeploys" ms "$p99" "$qp99" "-"

# ============ 4. Memory after N deploys, and the peak of parallel deploys ============
log "4 memory after $memory_deploys deploys, peak of $parallel parallel deploys"
while [ "$deploys" -lt "$memory_deploys" ]; do
  commit "$work/src" "$work/repo.git" "m$deploys" >/dev/null
  wait_served app "m$deploys" "$(deploy_api app)"; deploys=$((deploys + 1))
done
# As DeployMemoryTests: read once the old container has drained and the panel has given back what the deploy used.
for _ in $(seq 1 120); do
  [ "$(docker ps -aq --filter "label=vpspanel.project=app" --filter "label=vpspanel.panel=${panel_ids[-1]}" | wc -l)" -le 1 ] && break
  sleep 0.5
done
sleep 3
rec memory "RSS after $deploys deploys (old container drained)" MB "$(rss_mb "$panel_pid")" "$empty_rss" "value<=90"
rec memory "private dirty after $deploys deploys" MB "$(dirty_mb "$panel_pid")" "$empty_dirty" "-"
ids=()
for i in $(seq 1 "$parallel"); do new_project "par$i" "$work/repo.git"; done
peak=0; head=$(served app) # what the repository's head serves
for i in $(seq 1 "$parallel"); do ids+=("$(deploy_api "par$i")"); done
for i in $(seq 1 "$parallel"); do
  until [ "$(served "par$i")" = "$head" ]; do
    peak=$(awk -v a="$peak" -v b="$(rss_mb "$panel_pid")" 'BEGIN { print (b > a ? b : a) }'); sleep 0.1
    case $(status_of "${ids[$((i - 1))]}") in failed|cancelled) echo "parallel deploy par$i failed" >&2; exit 1 ;; esac
  done
done
rec memory "peak RSS during $parallel parallel deploys" MB "$peak" "$empty_rss" "-"

# ============ 7. Webhook ingestion ============
log "7 webhook ingestion ($seconds s, $webhook_connections connections)"
new_project hooks "$work/repo.git"
hsecret=$(api -X POST "$panel/api/projects/hooks/webhook-secret" | json 'd["webhookSecret"]')
helper pushes "$hsecret" /webhooks/hooks "$work/pushes.txt" "$(q 10000 60000)"
WEBHOOK_FILE=$work/pushes.txt WEBHOOK_PATH=/webhooks/hooks WEBHOOK_THREADS=2 \
  wrk -t2 -c"$webhook_connections" -d"${seconds}s" --timeout 30s --latency -s bench/webhooks.lua "$panel" > "$work/wrk-hooks.txt" 2>&1
sleep 2 # requests in flight when wrk stopped
out=$(helper wrk "$work/wrk-hooks.txt"); read -r hrps hp99 _ <<<"$out"
out=$(wrk_page hooks-base "$panel/static/img/favicon.svg" "$webhook_connections"); read -r brps _ _ <<<"$out"
out=$(sed -n 's/^WEBHOOKS queued=\([0-9]*\) duplicate=\([0-9]*\) other=\([0-9]*\)$/\1 \2 \3/p' "$work/wrk-hooks.txt"); read -r hq hd ho <<<"$out"
hook_project=$(api "$panel/api/projects/hooks" | json 'd["id"]')
in_db=$(sqlite3 "file:$work/main/vpspanel.db?mode=ro" "SELECT count(*) FROM deployments WHERE project_id = $hook_project AND trigger = 'webhook'")
lost=$(( hq > in_db ? hq - in_db : 0 ))
rec webhooks "signed pushes answered per second (1 in 10 a redelivery)" "req/s" "$hrps" "$brps" "value>=2000" "p99 $hp99 ms"
rec webhooks "pushes lost: answered 202 ($hq) but no deployment row ($in_db rows)" pushes "$lost" - "value<=0" "$hd redeliveries answered duplicate, $ho other answers"
stop "$panel_pid"; panel_pid=""

# ============ 6. Pages and API with a big database ============
log "6 pages and API with $page_projects projects and $page_deployments deployments"
new_data_dir pages
seed "$work/pages/vpspanel.db" "$page_projects" "$page_deployments"
start_panel "$work/pages"
ptoken=$("$work/app/vpspanel" token create --user bench@example.com --name bench --data-dir "$work/pages")
cookie=$(sign_in "$panel" "$work")
project_id=$(sqlite3 "file:$work/pages/vpspanel.db?mode=ro" "SELECT id FROM projects WHERE slug = 'seed-1'")
out=$(wrk_page static "$panel/static/img/favicon.svg" 64); read -r srps sp99 _ <<<"$out"
for page in "dashboard|$panel/|Cookie: $cookie" "project page|$panel/projects/$project_id|Cookie: $cookie" \
            "GET /api/projects|$panel/api/projects|Authorization: Bearer $ptoken"; do
  IFS='|' read -r name url header <<<"$page"
  out=$(wrk_page "$(tr -c 'a-z0-9\n' - <<<"$name")" "$url" 64 "$header"); read -r rps p99 bad <<<"$out"
  [ "${name:0:1}" = G ] || name="$name ($page_projects projects, $page_deployments deployments)"
  rec pages "$name: requests/s" "req/s" "$rps" "$srps" "-" "$bad errors"
  rec pages "$name: p99" ms "$p99" "$sp99" "value<=20"
done
stop "$panel_pid"; panel_pid=""

load_after=$(cut -d' ' -f1 /proc/loadavg)
mkdir -p "$results"
helper report "$rows" "$results/$(date -u +%Y-%m-%dT%H%M%SZ).json" "$quick" "$load_before" "$load_after" "$run" "$work" "${panel_ids[@]}"
