#!/usr/bin/env bash
# The one test command (README): installs what the tests need when it is missing, starts dockerd when it is
# not running, publishes the single binary exactly as users get it, and runs every test against it.
# Exits non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*"; }

# Debian packages the tests use for real (no mocks): Docker engine, Caddy, git, a static busybox for FROM-scratch
# test images, chromium for browser tests, sshd for private-repo tests, shellcheck and debootstrap for install.sh.
packages=(docker.io caddy git busybox-static chromium openssh-server openssh-client shellcheck debootstrap curl ca-certificates)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  mkdir -p /var/log
  # Its own session, so it outlives this script and whatever process group ran it.
  setsid nohup dockerd >/var/log/vpspanel-test-dockerd.log 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /var/log/vpspanel-test-dockerd.log" >&2; tail -20 /var/log/vpspanel-test-dockerd.log >&2; exit 1; }
fi

log "publishing the single binary to out/publish"
rm -rf out/publish
dotnet publish VpsPanel.csproj -c Release -r linux-x64 -o out/publish -nologo -v quiet
ls -l out/publish

log "running tests"
export VPSPANEL_BINARY="$PWD/out/publish/vpspanel"
rm -rf tests/VpsPanel.Tests/TestResults
status=0
dotnet test tests/VpsPanel.Tests -c Release -nologo \
  --logger "console;verbosity=normal" --logger "trx;LogFileName=results.trx" "$@" || status=$?

# One plain closing line with the counts, read from the TRX summary.
trx=$(find tests/VpsPanel.Tests/TestResults -name results.trx 2>/dev/null | head -1)
if [ -n "$trx" ]; then
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  get() { printf '%s' "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
  echo "tests: $(get passed) passed, $(get failed) failed, $(( $(get total) - $(get executed) )) skipped"
fi
exit $status
