#!/usr/bin/env bash
# Checks that shrink/shrink.h reaches every public header of the layers, directly or through
# another header. Internal headers (see below) are the only ones allowed to be missing.
# Usage: check_umbrella.sh SRC
set -euo pipefail
src=$1
cd "$src"
# Implementation details: compute kernels (some built for the library's own -march), the atomic-
# write primitive, every header that needs a C library's header (<hdf5.h>, <zlib.h>: the public
# API exposes neither), and every header that declares nothing outside a `detail` namespace.
internal='^(autograd/kernels/|io/atomic_write\.h$)'
internal_headers=$(
  for h in $(find autograd io nn compression speedup pipeline -name '*.h' | grep -Ev "$internal"); do
    deps=$(${CXX:-c++} -std=c++20 -M -MG -I. "$h" | tr ' \\' '\n\n')
    if grep -qE '(^|/)(hdf5|zlib)\.h$' <<<"$deps"; then
      echo "$h"
      continue
    fi
    namespaces=$(grep -E '^namespace [a-z_:]+ \{' "$h" || true)
    if [[ -n $namespaces ]] && ! grep -qv 'detail' <<<"$namespaces"; then echo "$h"; fi
  done
)
# -MM lists the quoted (project) headers shrink.h includes transitively; -MG tolerates the
# third-party headers it cannot find without their include directories.
reached=$(${CXX:-c++} -std=c++20 -MM -MG -I. shrink/shrink.h | tr ' \\' '\n\n' | sed 's|^\./||' | grep '\.h$' | sort -u)
missing=$(find autograd io nn compression speedup pipeline -name '*.h' | grep -Ev "$internal" | grep -vxF -e "${internal_headers:-/}" | sort |
          comm -23 - <(echo "$reached"))
if [[ -n $missing ]]; then
  echo "check_umbrella: expected shrink/shrink.h to include every public header, got these missing:" >&2
  echo "$missing" >&2
  echo "(add them to shrink/shrink.h, or to the internal list in tests/cmake/check_umbrella.sh)" >&2
  exit 1
fi
echo "check_umbrella: shrink/shrink.h reaches $(echo "$reached" | grep -cEv '^shrink/') public headers"
