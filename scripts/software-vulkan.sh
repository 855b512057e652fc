#!/usr/bin/env bash
# Puts a software Vulkan driver that Dawn accepts into a private folder, without touching the system:
# Mesa's lavapipe from Debian's bookworm-backports suite (Debian 12's own Mesa 22.3 lavapipe is refused by
# Dawn: it lacks dynamic indexing of sampled/storage image arrays) plus the Vulkan loader and whatever
# libraries the newer Mesa needs that this machine lacks, each unpacked with dpkg -x.
#
# Usage: bash scripts/software-vulkan.sh [DIR]   (default DIR: .cache/software-vulkan in the checkout)
# Quick when DIR is already complete. Prints nothing but errors; exits non-zero when it cannot install.
# The engine's webgpu tests and scripts/gpu-check.sh read DIR through engine/src/backends/software-vulkan.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(realpath -m "${1:-.cache/software-vulkan}")
[ -f "$dir/icd.json" ] && [ -f "$dir/ready" ] && exit 0

command -v apt-get >/dev/null && command -v dpkg >/dev/null || { echo "software-vulkan: needs apt-get and dpkg (Debian)" >&2; exit 1; }
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ "$codename" = bookworm ] || { echo "software-vulkan: written for Debian 12 (bookworm), found '${codename:-unknown}'" >&2; exit 1; }

work=$(mktemp -d -t software-vulkan.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
cat >"$work/sources.list" <<'EOF'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-backports main
EOF
# A private package list and cache: the system's apt state and installed packages stay as they are. The
# system's dpkg status is still read, so only what this machine lacks (or has too old) is fetched.
apt=(-qq -oAPT::Sandbox::User=root -oDir::Etc::SourceList="$work/sources.list" -oDir::Etc::SourceParts=/dev/null
  -oDir::State::Lists="$work/lists" -oDir::Cache="$work/cache" -oAPT::Architecture=amd64)
apt-get "${apt[@]}" update
# Downloads only (apt's own fetcher: no curl or wget needed), into the private cache.
apt-get "${apt[@]}" install -y --download-only -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
ls "$work"/cache/archives/*.deb >/dev/null 2>&1 || { echo "software-vulkan: apt fetched nothing for mesa-vulkan-drivers" >&2; exit 1; }

rm -rf "$dir.partial" && mkdir -p "$dir.partial/root"
for deb in "$work"/cache/archives/*.deb; do dpkg -x "$deb" "$dir.partial/root"; done
lib="$dir/root/usr/lib/x86_64-linux-gnu"
[ -f "$dir.partial/root/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so" ] || { echo "software-vulkan: no libvulkan_lvp.so in the packages" >&2; exit 1; }
# The packaged manifest names the system path; point it at the private copy.
cat >"$dir.partial/icd.json" <<EOF
{ "file_format_version": "1.0.0", "ICD": { "library_path": "$lib/libvulkan_lvp.so", "api_version": "1.4.305" } }
EOF
echo "$lib" >"$dir.partial/libdir"
touch "$dir.partial/ready"
rm -rf "$dir" && mv "$dir.partial" "$dir"
