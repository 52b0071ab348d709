#!/usr/bin/env bash
# Joins this server to a VpsPanel cluster as a Docker Swarm worker. Served by the panel at /join.sh; run it as the
# panel's Servers page says:  curl -fsSL <panel>/join.sh | sudo bash -s -- <one-time token> [advertise address]
# It checks the one-time token with the panel first (nothing is installed for a used or expired token), installs
# Docker when it is missing (Debian 12, Ubuntu 22.04, Ubuntu 24.04: the distributions install.sh supports), then
# redeems the token for the swarm's worker token and runs `docker swarm join`.
# VPSPANEL_URL overrides the panel address written below; VPSPANEL_OS_RELEASE is for tests (like install.sh).
set -euo pipefail

PANEL_URL="${VPSPANEL_URL:-@@PANEL_URL@@}"

die() { printf 'join.sh: %s\n' "$*" >&2; exit 1; }
log() { printf '==> %s\n' "$*"; }

token="${1:-}"
advertise="${2:-}"
[ -n "$token" ] || die "usage: join.sh ONE-TIME-TOKEN [ADVERTISE-ADDRESS] (copy the command from the panel's Servers page)"
# The token goes into a JSON body below: only its own alphabet is let through.
[[ "$token" =~ ^vpj_[A-Za-z0-9_-]{43}$ ]] || die "\"$token\" is not a join token (vpj_ followed by 43 letters, digits, - or _); copy the whole command from the panel's Servers page"
if [ -n "$advertise" ] && ! [[ "$advertise" =~ ^[0-9A-Fa-f.:]+$ ]]; then die "\"$advertise\" is not an IP address"; fi
[ "$(id -u)" = 0 ] || die "must run as root (sudo bash -s -- ...)"
command -v curl >/dev/null 2>&1 || die "curl is required"

# POSTs the token; prints the answer's body, fails with the panel's own sentence when it refuses.
ask_panel() {
  local check="$1" out status
  out="$(curl -sS -X POST -H 'Content-Type: application/json' -w '\n%{http_code}' \
    --data "{\"token\":\"$token\",\"check\":$check}" "$PANEL_URL/api/servers/join")" || die "cannot reach the panel at $PANEL_URL"
  status="${out##*$'\n'}"
  out="${out%$'\n'*}"
  if [ "$status" != 200 ]; then
    local detail
    detail="$(printf '%s' "$out" | sed -n 's/.*"detail":"\([^"]*\)".*/\1/p')"
    die "the panel refused the token (HTTP $status): ${detail:-$out}"
  fi
  printf '%s' "$out"
}

field() { printf '%s' "$1" | sed -n "s/.*\"$2\":\"\\([^\"]*\\)\".*/\\1/p"; }

log "checking the join token with $PANEL_URL"
checked="$(ask_panel true)"
# The cluster's registry (the panel's Cluster:Registry): plain HTTP on the manager's private address, so this
# engine is told to pull from it (insecure-registries) before it joins. Empty: the panel runs no registry.
registry="$(field "$checked" registry)"
if [ -n "$registry" ] && ! [[ "$registry" =~ ^[A-Za-z0-9.-]+:[0-9]+$ ]]; then die "the panel's registry address \"$registry\" is not HOST:PORT"; fi

check_os() {
  local file="${VPSPANEL_OS_RELEASE:-/etc/os-release}" id="" version=""
  [ -r "$file" ] || die "cannot read $file to tell which OS this is; Docker is installed on Debian 12, Ubuntu 22.04 and Ubuntu 24.04"
  id="$(sed -n 's/^ID=//p' "$file" | tr -d '"' | head -n1)"
  version="$(sed -n 's/^VERSION_ID=//p' "$file" | tr -d '"' | head -n1)"
  case "$id:$version" in
    debian:12|ubuntu:22.04|ubuntu:24.04) log "OS: $id $version (supported)" ;;
    *) die "Docker is missing and this OS ($id $version) is not one join.sh installs it on (Debian 12, Ubuntu 22.04, Ubuntu 24.04): install Docker, then run this again" ;;
  esac
}

if command -v docker >/dev/null 2>&1; then
  log "Docker is installed ($(command -v docker)); keeping it"
else
  check_os
  log "installing Docker (docker.io)"
  env DEBIAN_FRONTEND=noninteractive apt-get update -q
  env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker.io
fi
if ! docker info >/dev/null 2>&1; then
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl enable --now docker.service
  else
    # No systemd (a container, a minimal system): start the engine in the background.
    (setsid dockerd >/var/log/dockerd.log 2>&1 </dev/null &)
  fi
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || die "Docker is installed but its engine does not answer (see /var/log/dockerd.log or journalctl -u docker)"
fi

# Trusting the registry: a daemon.json of the admin's own is not rewritten (a shell script has no JSON editor); it
# must already list the registry, or the script says what to add and stops before the token is used.
trust_registry() {
  local file=/etc/docker/daemon.json pid
  if docker info --format '{{json .RegistryConfig.IndexConfigs}}' | grep -qF "\"$registry\""; then
    log "the cluster's registry $registry is trusted already"
    return
  fi
  if [ -f "$file" ] && ! grep -qF "\"$registry\"" "$file"; then
    die "$file exists and does not list the cluster's registry: add \"insecure-registries\": [\"$registry\"] to it, reload Docker (systemctl reload docker), then run this again"
  fi
  if [ ! -f "$file" ]; then
    log "trusting the cluster's registry $registry ($file)"
    mkdir -p /etc/docker
    printf '{\n  "insecure-registries": ["%s"]\n}\n' "$registry" >"$file"
  fi
  # insecure-registries is one of the options dockerd reloads on SIGHUP: no restart, no container stopped.
  pid="$(cat /var/run/docker.pid 2>/dev/null || true)"
  [ -n "$pid" ] || die "cannot find dockerd's pid (/var/run/docker.pid) to reload it with the registry; restart Docker, then run this again"
  kill -HUP "$pid"
  for _ in $(seq 1 20); do
    docker info --format '{{json .RegistryConfig.IndexConfigs}}' | grep -qF "\"$registry\"" && return
    sleep 0.5
  done
  die "Docker did not take the registry $registry from $file (see its log)"
}
state="$(docker info --format '{{.Swarm.LocalNodeState}}')"
[ "$state" = inactive ] || die "this server's Docker engine is already in a swarm (state: $state); leave it first (docker swarm leave)"

[ -z "$registry" ] || trust_registry

log "redeeming the join token"
answer="$(ask_panel false)"
swarm_token="$(field "$answer" swarmToken)"
manager="$(field "$answer" managerAddress)"
if [ -z "$swarm_token" ] || [ -z "$manager" ]; then die "the panel's answer has no swarm token or manager address: $answer"; fi

log "joining the swarm at $manager"
args=(swarm join --token "$swarm_token")
[ -z "$advertise" ] || args+=(--advertise-addr "$advertise")
docker "${args[@]}" "$manager"
log "joined: this server is now listed on the panel's Servers page"
