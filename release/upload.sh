#!/usr/bin/env bash
# Attaches a release directory (release/build.sh's) to the GitHub release of a tag, creating the release if needed.
#
#   GH_TOKEN=... release/upload.sh v1.2.0 dist
#
# Run by .github/workflows/release.yml with the workflow's GITHUB_TOKEN; `gh` finds the repository from the checkout
# (or GH_REPO). Running it again for the same tag replaces the files (--clobber): a re-run of a failed workflow is safe.
set -euo pipefail

die() { printf 'release/upload.sh: error: %s\n' "$*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: release/upload.sh TAG DIR"
tag="$1"
dir="$2"
[[ "$tag" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || die "'$tag' is not a version tag like v1.2.3"
for f in vpspanel-linux-x64 vpspanel-linux-arm64 install.sh SHA256SUMS VERSION; do
  [ -f "$dir/$f" ] || die "$dir/$f is missing: build the release with release/build.sh first"
done
# The sums must describe exactly these files, or install.sh would refuse what we publish.
(cd "$dir" && sha256sum --check --strict --quiet SHA256SUMS) || die "$dir/SHA256SUMS does not match the files beside it"

# vpspanel upgrade trusts VERSION to name the release it then downloads from download/<tag>/: it must be this tag.
[ "$(cat "$dir/VERSION")" = "${tag#v}" ] || die "$dir/VERSION says '$(cat "$dir/VERSION")', not ${tag#v}: build with VERSION=$tag"
files=("$dir"/vpspanel-linux-x64 "$dir"/vpspanel-linux-arm64 "$dir"/install.sh "$dir"/SHA256SUMS "$dir"/VERSION)
if gh release view "$tag" >/dev/null 2>&1; then
  gh release upload "$tag" "${files[@]}" --clobber
else
  prerelease=()
  # v1.2.0-rc.1 is a pre-release, so /releases/latest (what install.sh downloads by default) keeps pointing at a stable one.
  if [[ "$tag" == *-* ]]; then prerelease=(--prerelease); fi
  gh release create "$tag" "${files[@]}" --verify-tag --title "VpsPanel $tag" --generate-notes "${prerelease[@]}"
fi
