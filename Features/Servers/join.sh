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
ask_panel true >/dev/null

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

state="$(docker info --format '{{.Swarm.LocalNodeState}}')"
[ "$state" = inactive ] || die "this server's Docker engine is already in a swarm (state: $state); leave it first (docker swarm leave)"

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
