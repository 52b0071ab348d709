# shellcheck shell=bash
# Sourced by the bench scripts (run.sh, deploy.sh, pages.sh, webhooks.sh): one Caddy on loopback ports for a bench run, whose
# main Caddyfile imports the panel's sites directory as the installed one does, plus any other directories given
# (run.sh's hand-made baseline has its own). The caller defines port() and removes $work afterwards.

start_bench_caddy() { # WORK [IMPORT_DIR...]: sets admin, http and caddy_pid; returns once the admin API answers
  local work=$1 dir
  shift
  admin=$(port); http=$(port)
  mkdir -p "$work/caddy/sites" "$@"
  {
    printf '{\n\tadmin 127.0.0.1:%s\n\thttp_port %s\n\thttps_port %s\n\tstorage file_system %s\n\tgrace_period 5s\n}\nimport %s/*\n' \
      "$admin" "$http" "$(port)" "$work/caddy/storage" "$work/caddy/sites"
    for dir in "$@"; do printf 'import %s/*\n' "$dir"; done
  } > "$work/caddy/Caddyfile"
  HOME=$work/caddy XDG_DATA_HOME=$work/caddy/data XDG_CONFIG_HOME=$work/caddy/config \
    caddy run --config "$work/caddy/Caddyfile" --adapter caddyfile >"$work/caddy.log" 2>&1 &
  caddy_pid=$!
  until curl -fs -o /dev/null "http://127.0.0.1:$admin/config/"; do
    kill -0 "$caddy_pid" 2>/dev/null || { echo "caddy exited; see its log:" >&2; tail -20 "$work/caddy.log" >&2; return 1; }
    sleep 0.1
  done
}

start_bench_work() { # WORK BINARY: the binary copied into WORK (its own extract dir), the bench Caddy, and the admin user in WORK/data
  cp "$2" "$1/vpspanel"
  export DOTNET_BUNDLE_EXTRACT_BASE_DIR=$1/extract
  start_bench_caddy "$1"
  mkdir -p "$1/data"
  printf 'bench-password-123\n' | "$1/vpspanel" user add --email bench@example.com --admin --data-dir "$1/data" >/dev/null
}
