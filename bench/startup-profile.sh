#!/usr/bin/env bash
# Regenerates bench/StartupProfile/startup.mibc, the list of methods crossgen2 compiles ahead of time into the
# published binary (VpsPanel.csproj: ReadyToRun, --partial). Run it after changes to what the panel does at start
# (hosting, registration, /healthz, Kestrel, the first Docker and Caddy calls), then publish and commit the profile:
#
#   bash bench/startup-profile.sh
#
# How, in two rounds. 1: publish without ReadyToRun, start that binary once with EventPipe recording the runtime's JIT
# and loader events and every ahead-of-time image ignored (DOTNET_ReadyToRun=0, so even ASP.NET Core's own
# precompiled MVC assemblies show what they run), wait for the first 200 on /healthz, stop it, and write the profile
# from what was compiled until then (bench/StartupProfile). 2: publish with that profile and record again: what is
# still compiled at run time (small methods the JIT had inlined everywhere, which ahead-of-time code calls) is added.
# A profile that has gone stale only compiles less ahead of time: nothing breaks.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/bench/StartupProfile/startup.mibc
py=$(python3 -c 'import sys; print(sys.executable)')
port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

work=$(mktemp -d /tmp/vpspanel-profile-XXXXXX)
pid=""; caddy_pid=""
cleanup() {
  for p in "$pid" "$caddy_pid"; do
    if [ -n "$p" ]; then kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; fi
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

publish() { # OUT_DIR [MSBUILD_ARG...]
  local dir=$1
  shift
  dotnet publish VpsPanel.csproj -c Release -r linux-x64 -o "$dir" -nologo -v quiet "$@" >"$work/publish.log" 2>&1 ||
    { tail -30 "$work/publish.log" >&2; exit 1; }
}

. "$root/bench/caddy.sh"
start_bench_caddy "$work"

# Not run in $(...): the panel's pid must stay in this shell for cleanup to stop it if anything fails.
record() { # NAME BINARY [ENV...]: one start recorded to $work/NAME.nettrace; sets ms to the ms to its first 200
  local name=$1 bin=$2 p t0
  shift 2
  mkdir -p "$work/$name/data"
  printf 'bench-password-123\n' | DOTNET_BUNDLE_EXTRACT_BASE_DIR="$work/$name/extract" "$bin" user add --email bench@example.com \
    --admin --data-dir "$work/$name/data" >/dev/null
  p=$(port)
  t0=$(date +%s%N)
  (cd "$work/$name" && exec env "$@" DOTNET_EnableEventPipe=1 DOTNET_EventPipeOutputPath="$work/$name.nettrace" \
    DOTNET_EventPipeConfig='Microsoft-Windows-DotNETRuntime:0x4000080018:5' DOTNET_BUNDLE_EXTRACT_BASE_DIR="$work/$name/extract" \
    Panel__DataDir="$work/$name/data" Caddy__AdminAddress="http://127.0.0.1:$admin" Caddy__Caddyfile="$work/caddy/Caddyfile" \
    Caddy__SitesDir="$work/caddy/sites" Caddy__AutomaticHttps=false "$bin" --urls "http://127.0.0.1:$p" >"$work/$name/log" 2>&1) &
  pid=$!
  until curl -fs -o /dev/null "http://127.0.0.1:$p/healthz"; do
    kill -0 "$pid" 2>/dev/null || { echo "the panel exited before its first 200:" >&2; tail -20 "$work/$name/log" >&2; exit 1; }
    sleep 0.01
  done
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  mkdir -p out && cp "$work/$name.nettrace" "out/startup-$name.nettrace"
  echo "$name: first 200 after $ms ms; its trace is kept as out/startup-$name.nettrace" >&2
}

# The trace names methods by token in the trimmed assemblies of the publish; ReadyToRun compiles these same files,
# and both publishes below trim alike.
linked=$root/obj/Release/net10.0/linux-x64/linked
profile() { dotnet run --project bench/StartupProfile -c Release -- "$linked" "$out" "$@"; }

echo "round 1: publishing without ReadyToRun" >&2
publish "$work/jit" -p:PublishReadyToRun=false
record jit "$work/jit/vpspanel" DOTNET_ReadyToRun=0
ms1=$ms
profile "$work/jit.nettrace" "$ms1"

echo "round 2: publishing with that profile" >&2
publish "$work/r2r"
record r2r "$work/r2r/vpspanel"
ms2=$ms
profile "$work/jit.nettrace" "$ms1" "$work/r2r.nettrace" "$ms2"
