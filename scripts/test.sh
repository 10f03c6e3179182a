#!/usr/bin/env bash
# Installs dependencies, builds a release and runs the whole test suite; cross-builds the
# kernels for Arm (NEON) and runs their tests under qemu-user; builds with ASan+UBSan and runs the
# whole suite again; then runs the thread pool's and the kernels' tests (whose matmuls, activation
# quantizer and attention split work over the pool) under TSan. MLXLM_TEST_TSAN=all adds the nn,
# cache, model and generation tests, which use the pool from every layer (~10 more minutes on 2
# cores).
# MLXLM_SHARED points at the shared data (default: ../shared beside the repository).
# Set MLXLM_TEST_SANITIZERS=0 to skip the sanitizer pass during local iteration.
set -euo pipefail
cd "$(dirname "$0")/.."
export MLXLM_SHARED=${MLXLM_SHARED:-$(cd .. && pwd)/shared}
if [ ! -d "$MLXLM_SHARED/models" ]; then
  echo "test.sh: shared data not found at $MLXLM_SHARED (set MLXLM_SHARED)" >&2
  exit 1
fi
scripts/setup.sh
scripts/build.sh release
ctest --test-dir build --output-on-failure -j"$(nproc)"
# The kernels again on a second instruction set: Arm NEON, cross-built and run under qemu-user
# (under a minute of building). MLXLM_TEST_ARM=0 skips it. Where the cross tools cannot be
# installed it does not run, and says so loudly; a failed build or test fails the suite.
if [ "${MLXLM_TEST_ARM:-1}" != 0 ] && [ "$(uname -m)" = x86_64 ]; then
  arm_status=0
  scripts/cross_check_arm.sh || arm_status=$?
  if [ "$arm_status" = 3 ]; then
    echo "test.sh: WARNING: the Arm (NEON) kernel tests did NOT run on this machine" >&2
  elif [ "$arm_status" != 0 ]; then
    exit "$arm_status"
  fi
fi
if [ "${MLXLM_TEST_SANITIZERS:-1}" != 0 ]; then
  scripts/build.sh asan
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j"$(nproc)" -LE slow
  tsan_tests=(test_base test_kernels)
  if [ "${MLXLM_TEST_TSAN:-}" = all ]; then
    tsan_tests+=(test_nn test_cache test_models test_generate)
  fi
  scripts/build.sh tsan "${tsan_tests[@]}"
  for t in "${tsan_tests[@]}"; do
    TSAN_OPTIONS=halt_on_error=1 "build-tsan/bin/$t"
  done
fi
