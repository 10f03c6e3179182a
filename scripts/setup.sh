#!/usr/bin/env bash
# Installs every Debian 12 package that building, testing and benchmarking mlxlm needs, or
# only the packages named as arguments (scripts/cross_check_arm.sh names its cross tools).
# Idempotent: packages already present are skipped, so running it again costs a second.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  clang-format clang-tidy
  libgtest-dev libgmock-dev libbenchmark-dev
  libhwy-dev nlohmann-json3-dev libsimdjson-dev libcli11-dev libcpp-httplib-dev
  libpcre2-dev libonig-dev libcurl4-openssl-dev
  python3
)
if [ $# -gt 0 ]; then packages=("$@"); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
