#!/usr/bin/env bash
# Builds and runs tests/cmake/consumer (a `project(x CXX)` downstream project) against Shrink.
# Usage: check_consumer.sh install|subdirectory|hdf5_lookup SRC BUILD
#   install:      `cmake --install BUILD` into a temporary prefix, then find_package(shrink).
#   hdf5_lookup:  installed, but pkg-config cannot see hdf5.pc: a CXX-only consumer gets the
#                 pinned "needs HDF5" message; a consumer that enables C finds HDF5 via FindHDF5.
#   subdirectory: add_subdirectory(SRC) from the consumer, with no build type and -O0 (this checks
#                 the build wiring, not speed, and keeps the suite short).
# Both modes also check that -march=native (a private option of Shrink's own targets) does not
# reach the consumer's compile commands, and the subdirectory mode that Shrink does not impose a
# build type on its parent.
set -euo pipefail
mode=$1 src=$2 build=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "check_consumer ($mode): $*" >&2; exit 1; }
# The compiler launcher of the calling build (ccache), so repeated runs are quick.
launcher=()
[[ -n ${SHRINK_CONSUMER_LAUNCHER:-} ]] && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER="$SHRINK_CONSUMER_LAUNCHER")

if [[ $mode == install ]]; then
  cmake --install "$build" --prefix "$work/prefix" >/dev/null
  [[ -f $work/prefix/include/shrink/shrink.h ]] || fail "expected include/shrink/shrink.h installed, got none"
  ! grep -rq -- -march "$work/prefix/lib/cmake/shrink" || fail "expected no -march in the exported targets, got:
$(grep -rn -- -march "$work/prefix/lib/cmake/shrink")"
  cmake -S "$src/tests/cmake/consumer" -B "$work/b" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" \
    -DCMAKE_EXPORT_COMPILE_COMMANDS=ON "${launcher[@]}" >"$work/configure.log" 2>&1 || { cat "$work/configure.log"; exit 1; }
elif [[ $mode == hdf5_lookup ]]; then
  cmake --install "$build" --prefix "$work/prefix" >/dev/null
  if PKG_CONFIG_LIBDIR=/nonexistent cmake -S "$src/tests/cmake/consumer" -B "$work/cxx" -G Ninja \
      -DCMAKE_PREFIX_PATH="$work/prefix" >"$work/cxx.log" 2>&1; then
    fail "expected find_package(shrink) to fail without hdf5.pc in a CXX-only project, got success"
  fi
  expected='shrink needs HDF5'"'"'s C library: expected pkg-config to find the `hdf5` module, got nothing (install libhdf5-dev and pkg-config, or add the directory holding hdf5.pc to PKG_CONFIG_PATH; with C enabled in your project(), CMake'"'"'s FindHDF5 is tried too)'
  [[ $(tr -s ' \n' ' ' <"$work/cxx.log") == *"$expected"* ]] || { cat "$work/cxx.log"; fail "expected the message: $expected"; }
  PKG_CONFIG_LIBDIR=/nonexistent cmake -S "$src/tests/cmake/consumer" -B "$work/c" -G Ninja \
    -DCMAKE_PREFIX_PATH="$work/prefix" -DSHRINK_CONSUMER_WITH_C=ON >"$work/c.log" 2>&1 ||
    { cat "$work/c.log"; fail "expected find_package(shrink) to fall back to FindHDF5 with C enabled, got an error"; }
  echo "check_consumer (hdf5_lookup): pinned message without hdf5.pc; FindHDF5 fallback with C"
  exit 0
elif [[ $mode == subdirectory ]]; then
  cmake -S "$src/tests/cmake/consumer" -B "$work/b" -G Ninja -DSHRINK_CONSUME=subdirectory \
    -DSHRINK_SOURCE_DIR="$src" -DCMAKE_CXX_FLAGS=-O0 -DSHRINK_NATIVE=ON -DCMAKE_EXPORT_COMPILE_COMMANDS=ON "${launcher[@]}" \
    >"$work/configure.log" 2>&1 || { cat "$work/configure.log"; exit 1; }
  build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$work/b/CMakeCache.txt")
  [[ -z $build_type ]] || fail "expected the consumer's CMAKE_BUILD_TYPE left empty, got '$build_type'"
  # Shrink's own sources do get -march=native: the check below is not vacuous.
  grep -q -- '-march=native.*autograd/' "$work/b/compile_commands.json" ||
    fail "expected Shrink's own sources compiled with -march=native (SHRINK_NATIVE=ON), got none"
else
  fail "expected mode install or subdirectory, got '$mode'"
fi

consumer_cmd=$(grep '"command".*consumer\.dir/main\.cpp' "$work/b/compile_commands.json") ||
  fail "expected a compile command for the consumer's main.cpp, got none"
[[ $consumer_cmd != *-march* ]] || fail "expected no -march in the consumer's compile command, got: $consumer_cmd"

cmake --build "$work/b" --target consumer >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
"$work/b/consumer" "$work"
