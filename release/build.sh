#!/usr/bin/env bash
# Builds a release directory: the single binary per runtime, named vpspanel-<rid>, install.sh, and SHA256SUMS over
# them in `sha256sum` format (what install.sh checks before it installs anything).
#
#   release/build.sh OUT_DIR                          # publish linux-x64 and linux-arm64
#   release/build.sh OUT_DIR linux-x64                # only these runtimes
#   release/build.sh OUT_DIR linux-x64=PATH           # take an already published binary for that runtime
#   VERSION=1.2.0 release/build.sh OUT_DIR            # stamp the version (`vpspanel version`); the workflow passes the tag's
#
# The workflow (.github/workflows/release.yml) runs it on a version tag; the tests run it with the binary they test.
# The publish options are the ones README and tests/run.sh use, so a release is the binary the tests ran against.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { printf 'release/build.sh: error: %s\n' "$*" >&2; exit 1; }

[ $# -ge 1 ] || die "usage: release/build.sh OUT_DIR [RID[=BINARY]]..."
out="$1"
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(linux-x64 linux-arm64)

version_args=()
if [ -n "${VERSION:-}" ]; then
  # A tag is v1.2.3; the assembly version has no v. Anything but a plain version would reach the binary's metadata.
  version="${VERSION#v}"
  [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || die "VERSION '$VERSION' is not a version like 1.2.3 or v1.2.3-rc.1"
  version_args=("-p:Version=$version")
fi

mkdir -p "$out"
out="$(cd "$out" && pwd)"
# A leftover binary of another runtime would be listed in SHA256SUMS and attached: start from an empty directory.
[ -z "$(find "$out" -mindepth 1 -print -quit)" ] || die "$out is not empty"

for target in "${targets[@]}"; do
  rid="${target%%=*}"
  case "$rid" in
    linux-x64|linux-arm64) ;;
    *) die "unknown runtime '$rid': releases are linux-x64 and linux-arm64" ;;
  esac
  if [ "$target" != "$rid" ]; then
    binary="${target#*=}"
    [ -f "$binary" ] || die "$binary (given for $rid) is not a file"
    cp "$binary" "$out/vpspanel-$rid"
  else
    publish="$(mktemp -d)"
    dotnet publish VpsPanel.csproj -c Release -r "$rid" -o "$publish" -nologo -v quiet "${version_args[@]}"
    # The single file is the whole release; anything else published beside it would be a sign the options changed.
    extra="$(find "$publish" -mindepth 1 ! -name vpspanel -printf '%f ')"
    [ -z "$extra" ] || die "dotnet publish for $rid made more than the one binary: $extra"
    cp "$publish/vpspanel" "$out/vpspanel-$rid"
    rm -rf "$publish"
  fi
  chmod 0755 "$out/vpspanel-$rid"
done

cp install.sh "$out/install.sh"
chmod 0755 "$out/install.sh"
# VERSION is what `vpspanel upgrade` and its daily check read first (<base>/latest/download/VERSION), so a static
# mirror can say which release is newest; written only when the version is known.
if [ -n "${version:-}" ]; then printf '%s\n' "$version" >"$out/VERSION"; fi
(cd "$out" && sha256sum vpspanel-* install.sh >SHA256SUMS)
printf '%s\n' "release in $out:"
(cd "$out" && ls -l && cat SHA256SUMS)
