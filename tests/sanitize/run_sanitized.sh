#!/usr/bin/env bash
# The end-to-end tests with AddressSanitizer and UndefinedBehaviorSanitizer: builds tinyc and
# fuzz_replay with -DTINYC_SANITIZE=ON (-O1) in BUILD, then runs, any sanitizer report failing:
# the own models and tests/qlinear through run_node_tests.py, their generated C++ and drivers also
# built with the sanitizers; the int8 C API check; the hostile corpus; and the fuzz regressions.
#
#   run_sanitized.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
SRC=$(cd "$1" && pwd) B=$2
T=$SRC/tests
mkdir -p "$B"
B=$(cd "$B" && pwd)
GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)
cmake -S "$SRC" -B "$B" "${GEN[@]}" -DTINYC_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" >/dev/null
cmake --build "$B" --target tinyc fuzz_replay -j 2 >/dev/null

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
SAN="-fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all -fno-omit-frame-pointer"
PY=/usr/bin/python3

echo "== own models"
$PY "$T/conformance/run_node_tests.py" --tinyc "$B/tinyc" --work "$B/e2e-models" --models "$T/models" \
  --cxxflags "$SAN" --jobs 2
echo "== qlinear models"
$PY "$T/conformance/run_node_tests.py" --tinyc "$B/tinyc" --work "$B/e2e-qlinear" --models "$T/qlinear" \
  --exact --cxxflags "$SAN" --jobs 2
echo "== int8 C API"
"$T/quant/run_int8_test.sh" "$B/tinyc" "$T/models" "$B/e2e-int8" "$SAN"
echo "== hostile corpus"
$PY "$T/hostile/run_corpus.py" --tinyc "$B/tinyc" --work "$B/e2e-hostile" | tail -3
echo "== fuzz regressions"
$PY "$T/hostile/make_corpus.py" "$B/fuzz-hostile" >/dev/null
"$B/tests/fuzz_replay" "$T/fuzz/regressions" "$B/fuzz-hostile" --valid "$T"/models/*/model.onnx "$T"/qlinear/*/model.onnx | tail -1
