#!/usr/bin/env bash
# Cross-builds the kernels layer for 64-bit Arm (Highway's NEON target) and runs its tests under
# qemu-user, so that the portable SIMD code is checked against the scalar reference on a second
# instruction set. Installs Debian's cross compiler, qemu-user-static and the arm64 Highway and
# GoogleTest packages (multiarch). Only the base, tensor and kernels layers are built: Debian
# cannot install the other layers' libraries for both architectures side by side.
# Usage: scripts/cross_check_arm.sh [build-dir]   (default: build-arm64)
# Exit status: 0 passed, 3 not run (the packages could not be installed), other: failed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build-arm64}"

# Foreign-architecture packages need arm64 in dpkg's list before apt-get update. A machine whose
# package sources carry no arm64 packages cannot run the check: exit 3 says so, apart from a
# failure of the build or the tests.
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
if ! { dpkg --print-foreign-architectures | grep -qx arm64 || $SUDO dpkg --add-architecture arm64; } ||
  ! "$root/scripts/setup.sh" g++-aarch64-linux-gnu qemu-user-static libhwy-dev:arm64 \
    libgtest-dev:arm64 libgmock-dev:arm64 ninja-build cmake; then
  echo "cross_check_arm: could not install the cross tools; the Arm check did not run" >&2
  exit 3
fi

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE="$root/cmake/aarch64-linux-gnu.cmake" \
  -DMLXLM_KERNELS_ONLY=ON -DMLXLM_BUILD_BENCH=OFF
cmake --build "$build" -j "$(nproc)"
export MLXLM_SHARED="${MLXLM_SHARED:-$root/../shared}"
for t in test_base test_kernels; do
  echo "cross_check_arm: $t (aarch64, qemu-user)"
  qemu-aarch64-static "$build/bin/$t"
done
