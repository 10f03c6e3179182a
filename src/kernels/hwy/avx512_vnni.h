#pragma once
// Highway 1.0.3's AVX3_DL target enables AVX-VNNI (the VEX encoding of Alder Lake), not
// AVX512-VNNI: its 256-bit dot products assemble as `{vex} vpdpbusd`, which AVX3_DL machines
// without AVX-VNNI (Ice Lake, Zen 4) do not have, and 512-bit ones do not compile at all. The
// AVX3_DL code of the quantized kernels sits between these macros (right inside
// HWY_BEFORE_NAMESPACE / HWY_AFTER_NAMESPACE, under #if HWY_TARGET == HWY_AVX3_DL), which
// switch it to AVX512-VNNI, the extension Highway's run-time check for AVX3_DL requires.
// clang-format off
#if defined(__clang__)
#define MLXLM_AVX512_VNNI_BEGIN _Pragma("clang attribute push(__attribute__((target(\"avx512vnni\"))), apply_to = function)")
#define MLXLM_AVX512_VNNI_END _Pragma("clang attribute pop")
#else
#define MLXLM_AVX512_VNNI_BEGIN _Pragma("GCC push_options") _Pragma("GCC target(\"avx512vnni,no-avxvnni\")")
#define MLXLM_AVX512_VNNI_END _Pragma("GCC pop_options")
#endif
// clang-format on
