# Cross-compiling for 64-bit Arm Linux with Debian's cross compiler and the arm64 (multiarch)
# libraries; binaries run under qemu-user (scripts/cross_check_arm.sh).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
# No `-L /usr/aarch64-linux-gnu`: with the cross toolchain's own sysroot, qemu 7.2 hangs in the
# first thread creation of a dynamically linked program; the multiarch loader and libraries in
# /lib/aarch64-linux-gnu work.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64-static)
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
