#!/usr/bin/env bash
# Installs what Strata needs to build and is missing: the system liblz4 (Debian: liblz4-dev).
# Uses sudo only when not root. Safe to run again.
set -euo pipefail

if [ -f /usr/include/lz4.h ] || { command -v pkg-config >/dev/null && pkg-config --exists liblz4; }; then
    exit 0
fi
echo "strata: installing liblz4-dev (the LZ4 library Strata links against)" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq liblz4-dev >/dev/null
