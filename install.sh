#!/usr/bin/env bash
# VpsPanel installer for a fresh Debian/Ubuntu VPS.
# Not yet: the installer is built in a later issue (install.sh, upgrades and backups).
set -euo pipefail
echo "install.sh: not yet implemented. Build from source for now: see README.md." >&2
exit 1
