#!/bin/bash
# Copies each binary to DIR/<name>.<tag> and drops the copy from the page cache, then prints the
# copies' paths. On this project's VM a binary's speed can depend by up to 25 % on where its file
# pages happen to sit, for minutes at a time (docs/benchmarks.md, session 14), so A/B runs
# compare fresh copies, and more than one copy of each when the difference is small.
# usage: scripts/fresh_copies.sh DIR TAG BINARY...
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 DIR TAG BINARY..." >&2
  exit 2
fi
dir=$1 tag=$2
shift 2
mkdir -p "$dir"
for bin in "$@"; do
  copy="$dir/$(basename "$bin").$tag"
  cp "$bin" "$copy.tmp"
  mv "$copy.tmp" "$copy"
  dd if="$copy" iflag=nocache count=0 status=none  # drop the whole file's cached pages
  printf '%s ' "$copy"
done
echo
