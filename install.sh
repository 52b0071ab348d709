#!/usr/bin/env bash
# VpsPanel installer for a Debian 12 / Ubuntu 22.04 / Ubuntu 24.04 server (x86_64 or arm64).
#
#   curl -fsSL https://github.com/vpspanel/vpspanel/releases/latest/download/install.sh | sudo bash
#                                                          # the latest release, checked against its SHA256SUMS
#   sudo ./install.sh --version 1.2.0                      # that release
#   sudo ./install.sh --binary ./out/publish/vpspanel      # a binary you have
#   sudo ./install.sh --from-source                        # build this checkout (needs the .NET SDK)
#   sudo ./install.sh --url https://.../vpspanel-linux-x64 # download a release binary
#   sudo ./install.sh --uninstall | --purge | --dry-run | --help
#
# Running it again is an upgrade: new binary, same data and settings, migrations run when the panel starts.
# Tests point these at fixtures: VPSPANEL_OS_RELEASE (a file like /etc/os-release), VPSPANEL_ARCH (like uname -m).
set -euo pipefail

# Where releases come from: the canonical repository, in this one place. VPSPANEL_RELEASE_BASE points somewhere else
# (a mirror, a server of your own for air-gapped machines) that serves the same layout as GitHub:
#   $VPSPANEL_RELEASE_BASE/latest/download/<file>     the latest release
#   $VPSPANEL_RELEASE_BASE/download/v1.2.0/<file>     release v1.2.0
# with <file> each of vpspanel-linux-x64, vpspanel-linux-arm64, SHA256SUMS (and install.sh).
readonly VPSPANEL_REPO="${VPSPANEL_REPO:-vpspanel/vpspanel}"
RELEASE_BASE="${VPSPANEL_RELEASE_BASE:-https://github.com/$VPSPANEL_REPO/releases}"
readonly RELEASE_BASE="${RELEASE_BASE%/}"

readonly BIN=/usr/local/bin/vpspanel
readonly DATA_DIR=/var/lib/vpspanel
readonly SITES_ROOT=/var/lib/vpspanel-caddy
readonly SITES_DIR=/var/lib/vpspanel-caddy/sites
readonly STATIC_DIR=/var/lib/vpspanel-caddy/static
readonly CACHE_DIR=/var/cache/vpspanel
readonly ETC_DIR=/etc/vpspanel
readonly SETTINGS=/etc/vpspanel/appsettings.json
readonly UNIT=/etc/systemd/system/vpspanel.service
readonly CADDYFILE=/etc/caddy/Caddyfile
readonly CADDYFILE_BEFORE=/etc/caddy/Caddyfile.before-vpspanel
readonly CADDY_MARKER="vpspanel-caddyfile"
readonly SVC_USER=vpspanel
# Below Deploy:PortRange (3001-9999), so no deployed app is ever given the panel's ports.
readonly PANEL_PORT=2081
readonly PUBLIC_PORT=2080

SCRIPT_DIR=""
if [ -n "${BASH_SOURCE[0]:-}" ] && [ -f "${BASH_SOURCE[0]}" ]; then
  SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
fi

orig_args=("$@")
mode=install
dry_run=0
binary_path=""
from_source=0
url=""
version=""
domain=""
email=""

log() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }

usage() {
  cat <<'EOF'
Usage: sudo ./install.sh [options]

Where the binary comes from: with none of these, the latest release for this machine is downloaded from
VPSPANEL_RELEASE_BASE (default https://github.com/vpspanel/vpspanel/releases) and installed only if it matches
the release's SHA256SUMS. Running it again upgrades.
  --version X        that release instead of the latest (1.2.0 or v1.2.0)
  --binary PATH      install this vpspanel binary
  --from-source      build this checkout with `dotnet publish` (needs the .NET SDK)
  --url URL          download the binary from URL (no checksum: prefer a release)

Options:
  --domain NAME      serve the panel at https://NAME (Caddy gets the certificate); without it the
                     panel is at http://SERVER:2080
  --email ADDRESS    contact address for Let's Encrypt (written into /etc/caddy/Caddyfile)
  --dry-run          print every step without changing anything (a release is still downloaded into a
                     temporary directory and checked against SHA256SUMS, and the result said)
  --uninstall        remove the service and the binary; keep data, settings and the vpspanel user
  --purge            --uninstall, and also delete data, settings, backups and the vpspanel user
  -h, --help         this help
EOF
}

# ---- argument parsing --------------------------------------------------------------------------------
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) [ $# -ge 2 ] || die "--binary needs a path"; binary_path="$2"; shift 2 ;;
    --binary=*) binary_path="${1#*=}"; shift ;;
    --from-source) from_source=1; shift ;;
    --url) [ $# -ge 2 ] || die "--url needs a URL"; url="$2"; shift 2 ;;
    --url=*) url="${1#*=}"; shift ;;
    --version) [ $# -ge 2 ] || die "--version needs a release like 1.2.0"; version="$2"; shift 2 ;;
    --version=*) version="${1#*=}"; shift ;;
    --domain) [ $# -ge 2 ] || die "--domain needs a name"; domain="$2"; shift 2 ;;
    --domain=*) domain="${1#*=}"; shift ;;
    --email) [ $# -ge 2 ] || die "--email needs an address"; email="$2"; shift 2 ;;
    --email=*) email="${1#*=}"; shift ;;
    --dry-run) dry_run=1; shift ;;
    --uninstall) mode=uninstall; shift ;;
    --purge) mode=purge; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

sources=0
[ -n "$binary_path" ] && sources=$((sources + 1))
[ "$from_source" = 1 ] && sources=$((sources + 1))
[ -n "$url" ] && sources=$((sources + 1))
[ "$sources" -le 1 ] || die "give only one of --binary, --from-source and --url"
if [ -n "$version" ]; then
  [ "$sources" = 0 ] || die "--version picks a release to download; it cannot go with --binary, --from-source or --url"
  [[ "$version" =~ ^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || die "--version '$version' is not a release like 1.2.0 or v1.2.0"
  # Release tags are v1.2.0; 1.2.0 means the same release.
  version="v${version#v}"
fi
if [ -n "$domain" ] && ! [[ "$domain" =~ ^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$ ]]; then
  die "--domain '$domain' is not a domain name like panel.example.com"
fi
if [ -n "$email" ] && ! [[ "$email" =~ ^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,63}$ ]]; then
  die "--email '$email' is not an email address like you@example.com"
fi

# ---- doing things, or in a dry run only saying them ---------------------------------------------------
# Every change goes through run/write_file, so --dry-run can print it instead.
run() {
  printf '    + %s\n' "$*"
  if [ "$dry_run" = 0 ]; then "$@"; fi
}

# write_file PATH MODE OWNER:GROUP; content on stdin. Written beside the target and renamed: never half a file.
write_file() {
  local path="$1" mode="$2" owner="$3" tmp
  if [ "$dry_run" = 1 ]; then
    printf '    + write %s (mode %s, owner %s):\n' "$path" "$mode" "$owner"
    sed 's/^/      | /'
    return 0
  fi
  printf '    + write %s (mode %s, owner %s)\n' "$path" "$mode" "$owner"
  tmp="$(mktemp "$path.XXXXXX")"
  cat >"$tmp"
  chmod "$mode" "$tmp"
  chown "$owner" "$tmp"
  mv -f "$tmp" "$path"
}

systemd_running() { [ -d /run/systemd/system ]; }

# ---- checks -------------------------------------------------------------------------------------------
check_root() {
  if [ "$(id -u)" -ne 0 ]; then
    if [ "$dry_run" = 1 ]; then
      note "not running as root: fine for --dry-run, but the real install needs root (sudo ./install.sh)"
      return 0
    fi
    die "install.sh must run as root: sudo $0 ${orig_args[*]}"
  fi
}

check_os() {
  local file="${VPSPANEL_OS_RELEASE:-/etc/os-release}" id="" version="" pretty=""
  [ -r "$file" ] || die "cannot read $file to tell which OS this is; VpsPanel supports Debian 12, Ubuntu 22.04 and Ubuntu 24.04"
  id="$(sed -n 's/^ID=//p' "$file" | tr -d '"' | head -n1)"
  version="$(sed -n 's/^VERSION_ID=//p' "$file" | tr -d '"' | head -n1)"
  pretty="$(sed -n 's/^PRETTY_NAME=//p' "$file" | tr -d '"' | head -n1)"
  case "$id:$version" in
    debian:12|ubuntu:22.04|ubuntu:24.04) log "OS: ${pretty:-$id $version} (supported)" ;;
    *) die "unsupported OS: ${pretty:-$id $version}. VpsPanel supports Debian 12, Ubuntu 22.04 and Ubuntu 24.04." ;;
  esac
}

rid=""
check_arch() {
  local arch="${VPSPANEL_ARCH:-$(uname -m)}"
  case "$arch" in
    x86_64|amd64) rid=linux-x64 ;;
    aarch64|arm64) rid=linux-arm64 ;;
    *) die "unsupported architecture: $arch. VpsPanel runs on x86_64 (amd64) and aarch64 (arm64)." ;;
  esac
  log "architecture: $arch ($rid)"
}

# A vpspanel binary: a file, executable, and it answers `version` as vpspanel does. NAME says in errors where it came from.
check_binary() {
  local path="$1" name="${2:-"--binary $1"}" out extract ok=1
  [ -e "$path" ] || die "$name does not exist"
  [ -f "$path" ] || die "$name is not a regular file"
  [ -x "$path" ] || die "$name is not executable (chmod +x it, or give the published vpspanel binary)"
  # Only an ELF file is run: bash would run any other file as a shell script, which a check must never do.
  [ "$(head -c 4 "$path" | od -An -tx1 | tr -d ' \n')" = "7f454c46" ] ||
    die "$name is not a vpspanel binary for this machine ($rid): it is not an executable (ELF) file"
  # The single-file binary unpacks a native library on start; into a throwaway dir, so a check changes nothing.
  extract="$(mktemp -d)"
  out="$(cd "$extract" && DOTNET_BUNDLE_EXTRACT_BASE_DIR="$extract" "$path" version 2>&1)" || ok=0
  rm -rf "$extract"
  if [ "$ok" = 0 ] || [[ "$out" != vpspanel* ]]; then
    die "$name is not a vpspanel binary for this machine ($rid): running '$path version' gave: ${out:0:200}"
  fi
  note "binary: $out"
}

# ---- packages -----------------------------------------------------------------------------------------
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    run env DEBIAN_FRONTEND=noninteractive apt-get update -q
    apt_updated=1
  fi
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

install_packages() {
  log "packages: Docker, Caddy, git, OpenSSH client"
  if command -v dockerd >/dev/null 2>&1 || command -v docker >/dev/null 2>&1; then
    note "Docker is already installed ($(command -v dockerd || command -v docker)); keeping it"
  else
    apt_install docker.io
  fi
  if command -v caddy >/dev/null 2>&1; then
    note "Caddy is already installed ($(command -v caddy)); keeping it"
  else
    if ! apt-cache policy caddy 2>/dev/null | grep -q 'Candidate: [0-9]'; then
      die "caddy is not in this system's apt sources (Ubuntu 22.04 has no caddy package). Install Caddy 2 as https://caddyserver.com/docs/install#debian-ubuntu-raspbian says, then run install.sh again."
    fi
    apt_install caddy
  fi
  if command -v git >/dev/null 2>&1; then
    note "git is already installed; keeping it"
  else
    apt_install git
  fi
  # ssh and ssh-keygen: private repositories over SSH use a deploy key the panel generates (git only recommends
  # openssh-client, and recommends are not installed here).
  if command -v ssh-keygen >/dev/null 2>&1 && command -v ssh >/dev/null 2>&1; then
    note "the OpenSSH client is already installed; keeping it"
  else
    apt_install openssh-client
  fi
}

# ---- the binary ---------------------------------------------------------------------------------------
workdir=""
workdir_made=0
cleanup() { if [ "$workdir_made" = 1 ]; then rm -rf "$workdir"; fi; }
trap cleanup EXIT

new_binary=""
obtain_binary() {
  log "binary"
  if [ -n "$binary_path" ]; then
    check_binary "$binary_path"
    new_binary="$binary_path"
  elif [ "$from_source" = 1 ]; then
    [ -f "${SCRIPT_DIR:-/nonexistent}/VpsPanel.csproj" ] || die "--from-source needs install.sh inside a VpsPanel checkout (VpsPanel.csproj next to it)"
    command -v dotnet >/dev/null 2>&1 || die "--from-source needs the .NET 10 SDK (dotnet) on PATH; or build elsewhere and use --binary"
    if [ "$dry_run" = 0 ]; then workdir="$(mktemp -d)"; workdir_made=1; else workdir="/tmp/(build-dir)"; fi
    run dotnet publish "$SCRIPT_DIR/VpsPanel.csproj" -c Release -r "$rid" -o "$workdir/publish" -nologo
    new_binary="$workdir/publish/vpspanel"
    if [ "$dry_run" = 0 ]; then check_binary "$new_binary"; fi
  elif [ -n "$url" ]; then
    [[ "$url" =~ ^https?:// ]] || die "--url must be an http(s) URL, not '$url'"
    command -v curl >/dev/null 2>&1 || die "--url needs curl (apt-get install curl)"
    if [ "$dry_run" = 0 ]; then workdir="$(mktemp -d)"; workdir_made=1; else workdir="/tmp/(download-dir)"; fi
    new_binary="$workdir/vpspanel"
    run curl -fsSL --retry 3 -o "$new_binary" "$url"
    run chmod 0755 "$new_binary"
    if [ "$dry_run" = 0 ]; then check_binary "$new_binary" "the download from $url"; fi
  else
    download_release
  fi
}

# The release's binary for this machine and its SHA256SUMS, into a temporary directory, even in a dry run: nothing
# outside it is touched until the binary matches its line in SHA256SUMS.
download_release() {
  local dir asset expected actual lines
  if [ -n "$version" ]; then dir="$RELEASE_BASE/download/$version"; else dir="$RELEASE_BASE/latest/download"; fi
  asset="vpspanel-$rid"
  [[ "$dir" =~ ^https?:// ]] || die "VPSPANEL_RELEASE_BASE must be an http(s) URL, not '$RELEASE_BASE'"
  command -v curl >/dev/null 2>&1 || die "downloading a release needs curl (apt-get install curl), or give --binary PATH"
  command -v sha256sum >/dev/null 2>&1 || die "checking a release needs sha256sum (coreutils)"
  log "release ${version:-latest} from $dir"
  workdir="$(mktemp -d)"
  workdir_made=1
  fetch "$dir/SHA256SUMS" "$workdir/SHA256SUMS"
  fetch "$dir/$asset" "$workdir/$asset"

  # sha256sum's format: "<64 hex digits>  <file>" ("*<file>" in binary mode). Exactly one line must name our file.
  expected="$(awk -v f="$asset" '($2 == f || $2 == "*" f) && length($1) == 64 && $1 !~ /[^0-9a-fA-F]/ { print tolower($1) }' "$workdir/SHA256SUMS")"
  lines="$(printf '%s' "$expected" | grep -c . || true)"
  if [ "$lines" = 0 ]; then
    die "refusing to install: $dir/SHA256SUMS has no checksum line for $asset, so the download cannot be verified. Nothing was changed."
  fi
  if [ "$lines" != 1 ]; then
    die "refusing to install: $dir/SHA256SUMS has $lines checksum lines for $asset. Nothing was changed."
  fi
  actual="$(sha256sum "$workdir/$asset" | awk '{ print $1 }')"
  if [ "$actual" != "$expected" ]; then
    die "refusing to install: checksum mismatch for $asset from $dir: SHA256SUMS says $expected, the download is $actual. The download is damaged or was tampered with. Nothing was changed."
  fi
  note "SHA256 of $asset matches SHA256SUMS: $actual"
  chmod 0755 "$workdir/$asset"
  check_binary "$workdir/$asset" "$asset of release ${version:-latest} (its checksum matched)"
  if [ -x "$BIN" ] && cmp -s "$BIN" "$workdir/$asset"; then
    note "$BIN is already this release; keeping it"
    return 0
  fi
  new_binary="$workdir/$asset"
  if [ "$dry_run" = 1 ]; then note "dry run: the verified download stays in $workdir only until this script ends"; fi
}

# fetch URL FILE: curl's own message (404, connection refused) is printed, then what it means here.
fetch() {
  note "download $1"
  curl -fsSL --retry 3 --proto '=http,https' -o "$2" "$1" ||
    die "could not download $1 (curl exit $?). Check VPSPANEL_RELEASE_BASE and --version. Nothing was changed."
}

# ---- install ------------------------------------------------------------------------------------------
create_user() {
  log "system user $SVC_USER"
  if id "$SVC_USER" >/dev/null 2>&1; then
    note "user $SVC_USER exists"
  else
    run useradd --system --user-group --home-dir "$DATA_DIR" --no-create-home --shell /usr/sbin/nologin "$SVC_USER"
  fi
  if ! getent group docker >/dev/null 2>&1; then
    # docker.io creates it; a Docker installed some other way may not have.
    run groupadd --system docker
  fi
  if id -nG "$SVC_USER" 2>/dev/null | tr ' ' '\n' | grep -qx docker; then
    note "$SVC_USER is in the docker group"
  else
    run usermod -aG docker "$SVC_USER"
  fi
}

caddy_group() { if getent group caddy >/dev/null 2>&1; then echo caddy; else echo root; fi; }

create_dirs() {
  log "directories"
  # The data dir holds the database and the key ring: the panel's user only.
  run install -d -m 0700 -o "$SVC_USER" -g "$SVC_USER" "$DATA_DIR"
  # Site files live outside the 0700 data dir so Caddy (its own user) can read them; setgid keeps them group caddy.
  # So do the files of static sites Caddy serves itself (Caddy:StaticDir's default, beside the sites dir).
  run install -d -m 2750 -o "$SVC_USER" -g "$(caddy_group)" "$SITES_ROOT" "$SITES_DIR" "$STATIC_DIR"
  run install -d -m 0750 -o root -g "$SVC_USER" "$ETC_DIR"
  run install -d -m 0750 -o "$SVC_USER" -g "$SVC_USER" "$CACHE_DIR"
}

write_settings() {
  log "settings $SETTINGS"
  if [ -f "$SETTINGS" ]; then
    note "keeping the existing $SETTINGS"
    return 0
  fi
  local public_url=""
  if [ -n "$domain" ]; then public_url="https://$domain"; fi
  write_file "$SETTINGS" 0640 "root:$SVC_USER" <<EOF
{
  "Urls": "http://127.0.0.1:$PANEL_PORT",
  "Panel": {
    "DataDir": "$DATA_DIR",
    "PublicUrl": "$public_url"
  },
  "Docker": {
    "Socket": "/var/run/docker.sock"
  },
  "Caddy": {
    "AdminAddress": "http://127.0.0.1:2019",
    "Caddyfile": "$CADDYFILE",
    "SitesDir": "$SITES_DIR"
  },
  "Backup": {
    "Schedule": "0 30 3 * * ?",
    "Keep": "7"
  }
}
EOF
}

caddyfile_changed=0
write_caddyfile() {
  log "Caddyfile $CADDYFILE"
  if [ -f "$CADDYFILE" ] && grep -q "$CADDY_MARKER" "$CADDYFILE"; then
    note "keeping $CADDYFILE (already VpsPanel's; your edits stay)"
    return 0
  fi
  local template="${SCRIPT_DIR:-/nonexistent}/caddy/Caddyfile" text email_line site extract from="${new_binary:-$BIN}"
  if [ -f "$template" ]; then
    text="$(cat "$template")"
  elif [ -x "$from" ]; then
    # Piped from curl there is no checkout beside this script: the binary carries the same template.
    extract="$(mktemp -d)"
    text="$(cd "$extract" && DOTNET_BUNDLE_EXTRACT_BASE_DIR="$extract" "$from" caddyfile)" || { rm -rf "$extract"; die "could not read the Caddyfile template from $from"; }
    rm -rf "$extract"
  elif [ "$dry_run" = 1 ]; then
    note "would take the Caddyfile template from the new binary (vpspanel caddyfile)"
    return 0
  else
    die "no Caddyfile template: caddy/Caddyfile is not next to install.sh and there is no new binary to read it from (give --binary PATH)"
  fi
  if [ -n "$email" ]; then email_line="email $email"; else email_line="# email you@example.com"; fi
  if [ -n "$domain" ]; then site="$domain"; else site=":$PUBLIC_PORT"; fi
  text="${text//__ACME_EMAIL_LINE__/$email_line}"
  text="${text//__PANEL_SITE__/$site}"
  text="${text//__PANEL_PORT__/$PANEL_PORT}"
  text="${text//__SITES_DIR__/$SITES_DIR}"
  if [ "$dry_run" = 0 ]; then
    local check
    check="$(mktemp)"
    printf '%s\n' "$text" >"$check"
    if ! caddy adapt --config "$check" --adapter caddyfile >/dev/null 2>"$check.err"; then
      cat "$check.err" >&2
      rm -f "$check" "$check.err"
      die "the rendered Caddyfile does not pass 'caddy adapt' (see above); nothing was written to $CADDYFILE"
    fi
    rm -f "$check" "$check.err"
  fi
  run install -d -m 0755 /etc/caddy
  if [ -f "$CADDYFILE" ]; then
    note "$CADDYFILE is not VpsPanel's: keeping it as $CADDYFILE_BEFORE"
    run cp -p "$CADDYFILE" "$CADDYFILE_BEFORE"
  fi
  printf '%s\n' "$text" | write_file "$CADDYFILE" 0644 root:root
  caddyfile_changed=1
}

write_unit() {
  log "systemd unit $UNIT"
  run install -d -m 0755 "$(dirname "$UNIT")"
  write_file "$UNIT" 0644 root:root <<EOF
# VpsPanel, written by install.sh (re-running install.sh rewrites it).
[Unit]
Description=VpsPanel deployment panel
After=network-online.target docker.service caddy.service
Wants=network-online.target docker.service caddy.service

[Service]
Type=simple
User=$SVC_USER
Group=$SVC_USER
SupplementaryGroups=docker
# As root ("+"), before each start: hands the cgroup Docker's BuildKit runs build steps under to $SVC_USER, so the panel
# can cap builds (Deploy:BuildMemoryMb) without root; with Docker's systemd cgroup driver it says why it cannot. "-": a
# failure never keeps the panel from starting (the dashboard then says builds are not capped, and why).
# Its own extract dir: files root unpacks under $CACHE_DIR would be unreadable to $SVC_USER (UMask=0027).
ExecStartPre=-+/usr/bin/env DOTNET_BUNDLE_EXTRACT_BASE_DIR=/run/vpspanel-build-cgroup $BIN build-cgroup $SVC_USER
ExecStart=$BIN
WorkingDirectory=$DATA_DIR
# The single-file binary unpacks its native SQLite library here.
Environment=DOTNET_BUNDLE_EXTRACT_BASE_DIR=$CACHE_DIR
Environment=HOME=$DATA_DIR
Restart=on-failure
RestartSec=5s
TimeoutStopSec=60s
# Files the panel makes are not world-readable; group-readable so Caddy (group caddy) reads the site files.
UMask=0027

# Hardening: read-only system, writable only where the panel keeps its state.
NoNewPrivileges=true
ProtectSystem=strict
ReadWritePaths=$DATA_DIR $SITES_ROOT $CACHE_DIR
# The build-step cgroup (cgroup v1 / v2) stays writable under ProtectControlGroups; "-": absent is fine.
ReadWritePaths=-/sys/fs/cgroup/memory/docker/buildkit -/sys/fs/cgroup/docker/buildkit
PrivateTmp=true
PrivateDevices=true
ProtectHome=true
ProtectKernelTunables=true
ProtectKernelModules=true
ProtectKernelLogs=true
ProtectControlGroups=true
ProtectClock=true
ProtectHostname=true
RestrictSUIDSGID=true
RestrictRealtime=true
RestrictNamespaces=true
LockPersonality=true
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
CapabilityBoundingSet=
AmbientCapabilities=
SystemCallArchitectures=native

[Install]
WantedBy=multi-user.target
EOF
}

# Before replacing the binary, the old one backs up the data: an upgrade that goes wrong costs nothing.
backup_before_upgrade() {
  if [ -x "$BIN" ] && [ -f "$DATA_DIR/vpspanel.db" ] && [ -n "$new_binary" ]; then
    log "backup before upgrade"
    if [ "$dry_run" = 1 ]; then
      run runuser -u "$SVC_USER" -- env HOME="$DATA_DIR" DOTNET_BUNDLE_EXTRACT_BASE_DIR="$CACHE_DIR" "$BIN" backup
      return 0
    fi
    # A binary without the backup command would take the word for a setting and start serving: ask it first.
    if ! runuser -u "$SVC_USER" -- env HOME="$DATA_DIR" DOTNET_BUNDLE_EXTRACT_BASE_DIR="$CACHE_DIR" "$BIN" --help 2>/dev/null | grep -qw backup; then
      note "the installed binary has no 'vpspanel backup'; no backup before the upgrade"
      return 0
    fi
    if ! run timeout 600 runuser -u "$SVC_USER" -- env HOME="$DATA_DIR" DOTNET_BUNDLE_EXTRACT_BASE_DIR="$CACHE_DIR" "$BIN" backup; then
      note "the installed binary could not make a backup (see above); going on with the upgrade"
    fi
  fi
}

install_binary() {
  [ -n "$new_binary" ] || return 0
  log "installing $BIN"
  # Copy beside and rename: a running panel keeps its old file until it restarts.
  run install -m 0755 -o root -g root "$new_binary" "$BIN.new"
  run mv -f "$BIN.new" "$BIN"
}

panel_url() {
  if [ -n "$domain" ]; then echo "https://$domain"; return; fi
  local ip
  ip="$(hostname -I 2>/dev/null | awk '{print $1}')"
  echo "http://${ip:-SERVER-IP}:$PUBLIC_PORT"
}

# Up to 90 s: the first start compiles everything optimized (no tiered compilation, VpsPanel.csproj) and unpacks the
# native libraries; on a busy 2-core machine that took more than 30 s.
wait_healthy() {
  local i
  for i in $(seq 1 180); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PANEL_PORT") 2>/dev/null; then return 0; fi
    sleep 0.5
    : "$i"
  done
  return 1
}

print_token() {
  if [ -f "$DATA_DIR/setup-token" ]; then
    echo "  Setup token: $(cat "$DATA_DIR/setup-token")"
    echo "  Open the panel, go to /setup and enter the token to create the first admin."
  else
    echo "  The panel already has users: sign in as before (no setup token)."
  fi
}

start_services() {
  if ! systemd_running; then
    log "systemd is not running here (a container?): nothing was started"
    cat <<EOF

VpsPanel is installed. Start it by hand:
  dockerd &                                          # if Docker is not running yet
  caddy start --config $CADDYFILE --adapter caddyfile
  runuser -u $SVC_USER -- env HOME=$DATA_DIR DOTNET_BUNDLE_EXTRACT_BASE_DIR=$CACHE_DIR $BIN

The panel will listen on 127.0.0.1:$PANEL_PORT; Caddy serves it at $(panel_url).
On its first start it prints a setup token, also written to $DATA_DIR/setup-token.
EOF
    return 0
  fi
  log "starting services"
  run systemctl daemon-reload
  # An engine that already answers on its socket (started some other way) is kept exactly as it is.
  if docker info >/dev/null 2>&1; then
    echo "    Docker engine already running; leaving it as it is"
  else
    run systemctl enable --now docker.service
  fi
  run systemctl enable caddy.service
  if [ "$caddyfile_changed" = 1 ]; then run systemctl restart caddy.service; else run systemctl start caddy.service; fi
  run systemctl enable vpspanel.service
  run systemctl restart vpspanel.service
  if [ "$dry_run" = 1 ]; then return 0; fi
  if ! wait_healthy; then
    systemctl --no-pager status vpspanel.service >&2 || true
    die "the panel did not start listening on 127.0.0.1:$PANEL_PORT within 90 s; see: journalctl -u vpspanel"
  fi
  sleep 1
  cat <<EOF

VpsPanel is running.
  Panel URL:   $(panel_url)
$(print_token)
  Logs:        journalctl -u vpspanel -f
  Backups:     $DATA_DIR/backups (daily); now: sudo -u $SVC_USER vpspanel backup
EOF
}

do_install() {
  check_root
  check_os
  check_arch
  obtain_binary
  install_packages
  create_user
  create_dirs
  write_settings
  write_caddyfile
  write_unit
  backup_before_upgrade
  install_binary
  start_services
}

# ---- uninstall ----------------------------------------------------------------------------------------
do_uninstall() {
  check_root
  log "removing the service and the binary"
  if systemd_running && [ -f "$UNIT" ]; then
    run systemctl disable --now vpspanel.service || true
  fi
  if [ -f "$UNIT" ]; then run rm -f "$UNIT"; fi
  if systemd_running; then run systemctl daemon-reload; fi
  if [ -e "$BIN" ]; then run rm -f "$BIN"; fi
  if [ "$mode" = purge ]; then
    log "purging data, settings and the $SVC_USER user"
    local d
    for d in "$DATA_DIR" "$SITES_ROOT" "$CACHE_DIR" "$ETC_DIR"; do
      if [ -e "$d" ]; then run rm -rf "$d"; fi
    done
    if [ -f "$CADDYFILE" ] && grep -q "$CADDY_MARKER" "$CADDYFILE"; then
      if [ -f "$CADDYFILE_BEFORE" ]; then
        run mv -f "$CADDYFILE_BEFORE" "$CADDYFILE"
      else
        run rm -f "$CADDYFILE"
      fi
      if systemd_running; then run systemctl try-reload-or-restart caddy.service || true; fi
    fi
    if id "$SVC_USER" >/dev/null 2>&1; then run userdel "$SVC_USER"; fi
    echo "VpsPanel is purged. Docker, Caddy and git stay installed; containers the panel deployed keep running (docker ps)."
  else
    echo "VpsPanel is uninstalled. Kept: $DATA_DIR (data and backups), $ETC_DIR, $SITES_ROOT, $CADDYFILE and the $SVC_USER user."
    echo "Install again to get it all back, or run install.sh --purge to delete them."
  fi
}

if [ "$dry_run" = 1 ]; then log "dry run: printing every step, changing nothing"; fi
case "$mode" in
  install) do_install ;;
  uninstall|purge) do_uninstall ;;
esac
if [ "$dry_run" = 1 ]; then log "dry run finished: nothing was changed"; fi
