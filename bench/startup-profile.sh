#!/usr/bin/env bash
# Regenerates bench/StartupProfile/startup.mibc, the list of methods crossgen2 compiles ahead of time into the
# published binary (VpsPanel.csproj: ReadyToRun, --partial). Run it after changes to what the panel does at start
# (hosting, registration, /healthz, Kestrel, the first Docker and Caddy calls), then publish and commit the profile:
#
#   bash bench/startup-profile.sh
#
# How: publish without ReadyToRun, start that binary once with EventPipe recording the runtime's JIT and loader
# events and every ahead-of-time image ignored (DOTNET_ReadyToRun=0, so even ASP.NET Core's own precompiled MVC
# assemblies show what they run), wait for the first 200 on /healthz, stop it, and keep what was compiled until then
# (bench/StartupProfile). A profile that has gone stale only compiles less ahead of time: nothing breaks.
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

echo "publishing without ReadyToRun to $work/publish" >&2
dotnet publish VpsPanel.csproj -c Release -r linux-x64 -o "$work/publish" -nologo -v quiet -p:PublishReadyToRun=false >"$work/publish.log" 2>&1 ||
  { tail -30 "$work/publish.log" >&2; exit 1; }
# The trace names methods by token in the trimmed assemblies of that publish; ReadyToRun compiles these same files.
linked=$root/obj/Release/net10.0/linux-x64/linked
[ -d "$linked" ] || { echo "no trimmed assemblies at $linked" >&2; exit 1; }

. "$root/bench/caddy.sh"
start_bench_work "$work" "$work/publish/vpspanel"

p=$(port)
t0=$(date +%s%N)
(cd "$work" && exec env DOTNET_ReadyToRun=0 DOTNET_EnableEventPipe=1 DOTNET_EventPipeOutputPath="$work/start.nettrace" \
  DOTNET_EventPipeConfig='Microsoft-Windows-DotNETRuntime:0x18:5' \
  Panel__DataDir="$work/data" Caddy__AdminAddress="http://127.0.0.1:$admin" Caddy__Caddyfile="$work/caddy/Caddyfile" \
  Caddy__SitesDir="$work/caddy/sites" Caddy__AutomaticHttps=false ./vpspanel --urls "http://127.0.0.1:$p" >"$work/log" 2>&1) &
pid=$!
until curl -fs -o /dev/null "http://127.0.0.1:$p/healthz"; do
  kill -0 "$pid" 2>/dev/null || { echo "the panel exited before its first 200:" >&2; tail -20 "$work/log" >&2; exit 1; }
  sleep 0.01
done
first_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
echo "first 200 after $first_ms ms (JIT only, recording); the trace is kept as out/startup.nettrace" >&2
mkdir -p out && cp "$work/start.nettrace" out/startup.nettrace

dotnet run --project bench/StartupProfile -c Release -- "$work/start.nettrace" "$linked" "$out" --until-ms "$first_ms"
