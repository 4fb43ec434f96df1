# Cross build for 64-bit Raspberry Pi OS / Debian bookworm arm64 (see firmware-config/ARM64.md).
# `./aisle build --arm64` makes the sysroot and passes it; by hand:
#   cmake -S . -B build-arm64 --toolchain cmake/toolchain-aarch64.cmake \
#         -DAISLE_ARM64_SYSROOT=$PWD/.aisle/arm64-sysroot -DAISLE_SERVICES=OFF -DAISLE_BENCHMARKS=OFF -DAISLE_TESTS=OFF
# The sysroot is `mmdebstrap --variant=extract --architectures=arm64 --include=<-dev packages> bookworm DIR`
# with its absolute symlinks made relative. The compiler is Debian's g++-aarch64-linux-gnu.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

# Where the sysroot is: -DAISLE_ARM64_SYSROOT=..., else $AISLE_ARM64_SYSROOT, else the checkout's
# .aisle/arm64-sysroot. try_compile() re-reads this file in a fresh project: pass the value on.
if(NOT AISLE_ARM64_SYSROOT)
  if(DEFINED ENV{AISLE_ARM64_SYSROOT} AND NOT "$ENV{AISLE_ARM64_SYSROOT}" STREQUAL "")
    set(AISLE_ARM64_SYSROOT "$ENV{AISLE_ARM64_SYSROOT}")
  else()
    get_filename_component(AISLE_ARM64_SYSROOT "${CMAKE_CURRENT_LIST_DIR}/../.aisle/arm64-sysroot" ABSOLUTE)
  endif()
endif()
set(AISLE_ARM64_SYSROOT "${AISLE_ARM64_SYSROOT}" CACHE PATH "arm64 sysroot (Debian bookworm, made by ./aisle build --arm64)")
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES AISLE_ARM64_SYSROOT)
if(NOT EXISTS "${AISLE_ARM64_SYSROOT}/usr/include/aarch64-linux-gnu")
  message(FATAL_ERROR "no arm64 sysroot at ${AISLE_ARM64_SYSROOT}: run ./aisle build --arm64 (or pass -DAISLE_ARM64_SYSROOT=DIR)")
endif()

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_SYSROOT "${AISLE_ARM64_SYSROOT}")
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# Headers, libraries and CMake package configs only from the sysroot; programs (pkg-config, git) from the host.
set(CMAKE_FIND_ROOT_PATH "${AISLE_ARM64_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config must read the sysroot's .pc files only, and prefix the paths it returns with the sysroot.
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${AISLE_ARM64_SYSROOT}")
set(ENV{PKG_CONFIG_LIBDIR} "${AISLE_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:${AISLE_ARM64_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# No binfmt_misc here: anything CMake or ctest runs from this build goes through qemu explicitly.
find_program(AISLE_QEMU_AARCH64 qemu-aarch64)
if(AISLE_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${AISLE_QEMU_AARCH64};-L;${AISLE_ARM64_SYSROOT}")
endif()
