#!/usr/bin/env bash
# Builds tests/cmake/consumer against Shrink. Usage: check_consumer.sh install|subdirectory SRC BUILD
#   install:      `cmake --install BUILD` into a temporary prefix, then find_package(shrink).
#   subdirectory: add_subdirectory(SRC) from the consumer (built at -O0: this checks the build
#                 wiring, not speed, and keeps the suite short).
set -euo pipefail
mode=$1 src=$2 build=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [[ $mode == install ]]; then
  cmake --install "$build" --prefix "$work/prefix" >/dev/null
  cmake -S "$src/tests/cmake/consumer" -B "$work/b" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
else
  cmake -S "$src/tests/cmake/consumer" -B "$work/b" -G Ninja -DSHRINK_CONSUME=subdirectory \
    -DSHRINK_SOURCE_DIR="$src" -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS=-O0 -DSHRINK_NATIVE=OFF >/dev/null
fi
cmake --build "$work/b" --target consumer >/dev/null
"$work/b/consumer"
