#!/usr/bin/env bash
# Installs dependencies, builds, and writes a story with the sample model.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release
build/bin/mlxlm generate --prompt "Once upon a time" --max-tokens 120 --temp 0.8 --seed 7
