#!/usr/bin/env bash
# Installs what Strata needs to build and is missing: the system compression libraries it links
# (Debian packages): liblz4-dev (blocks, Parquet LZ4_RAW), libzstd-dev (Parquet ZSTD), libsnappy-dev
# (Parquet SNAPPY) and zlib1g-dev (Parquet GZIP). Uses sudo only when not root. Safe to run again.
set -euo pipefail

missing=()
have() {  # a header, then the pkg-config name
    [ -f "/usr/include/$1" ] || { command -v pkg-config >/dev/null && pkg-config --exists "$2"; }
}
have lz4.h liblz4 || missing+=(liblz4-dev)
have zstd.h libzstd || missing+=(libzstd-dev)
have snappy-c.h snappy || missing+=(libsnappy-dev)
have zlib.h zlib || missing+=(zlib1g-dev)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "strata: installing ${missing[*]} (the compression libraries Strata links against)" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
