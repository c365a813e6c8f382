#!/usr/bin/env bash
# install-deps.sh — installs the Debian packages genmod needs if any is
# missing (apt-get update first). Usage: scripts/install-deps.sh [extra packages]
# Runs apt-get directly as root, through sudo otherwise.
set -euo pipefail
PKGS=(build-essential cmake pkg-config libopenblas-dev libopenblas0-openmp libpng-dev zlib1g-dev dataset-fashion-mnist "$@")
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
