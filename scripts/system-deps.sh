#!/usr/bin/env bash
# Install the Debian packages the project needs, only when missing:
#   fonts     - fonts-noto-cjk, so charts render Chinese (and matplotlib's font cache is rebuilt)
#   (default) - fonts plus chromium for the browser tests
set -euo pipefail
want=(fonts-noto-cjk)
[[ "${1:-all}" == "fonts" ]] || want+=(chromium)
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "installing Debian packages: ${missing[*]}"
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  # matplotlib caches the font list; drop it so the new CJK fonts are found
  rm -rf "${MPLCONFIGDIR:-$HOME/.cache/matplotlib}"
fi
