#!/usr/bin/env bash
# `cmake --install` into a fresh prefix, then a project finds tinyc there with find_package(tinyc),
# compiles a model at build time with tinyc_add_model() and runs it.
set -euo pipefail
BUILD=$1 WORK=$2 MODEL=$3
rm -rf "$WORK" && mkdir -p "$WORK"
cmake --install "$BUILD" --prefix "$WORK/prefix" > /dev/null
test -x "$WORK/prefix/bin/tinyc" && test -f "$WORK/prefix/include/tinyc/kernels.h"
PATH=/usr/bin:/bin cmake -S "$(dirname "$0")" -B "$WORK/project" -DCMAKE_PREFIX_PATH="$WORK/prefix" \
  -DMODEL="$MODEL" > /dev/null
cmake --build "$WORK/project" > /dev/null
"$WORK/project/check"
