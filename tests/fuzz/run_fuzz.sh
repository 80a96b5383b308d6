#!/usr/bin/env bash
# Builds a libFuzzer target (clang-14, ASan + UBSan, build-fuzz/) and runs it for SECONDS
# (default 1800) on one core. A benchmark, not a test: CI replays its findings (fuzz_regressions).
#
#   tests/fuzz/run_fuzz.sh [SECONDS] [compile|import]
#
# compile (the default): fuzz_compile, the whole compile and a calibration (tens of inputs a second).
# import: fuzz_import, the import and the optimizer only (thousands of inputs a second).
# Seeds: the test models, tests/qlinear, tests/qdq, the hostile corpus, tests/fuzz/regressions and, for import,
# the tiny models of make_seeds.py; tests/fuzz/onnx.dict is the dictionary. New inputs go to
# build-fuzz/corpus (compile) or build-fuzz/corpus-import, crashes, leaks and timeouts to
# build-fuzz/artifacts/ (then: minimize with `build-fuzz/tests/fuzz_TARGET -minimize_crash=1 FILE`,
# fix tinyc, and add the input to tests/fuzz/regressions/). The log is build-fuzz/fuzz.log or
# build-fuzz/fuzz-import.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_TO_RUN=${1:-1800}
TARGET=${2:-compile}
B=build-fuzz
case $TARGET in
  compile) CORPUS=$B/corpus LOG=$B/fuzz.log ;;
  import) CORPUS=$B/corpus-import LOG=$B/fuzz-import.log ;;
  *) echo "usage: $0 [SECONDS] [compile|import]" >&2; exit 2 ;;
esac

cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 -DTINYC_FUZZ=ON >/dev/null
cmake --build $B --target fuzz_$TARGET -j 2

rm -rf $B/seeds && mkdir -p $B/seeds $CORPUS $B/artifacts
for m in tests/models/*/model.onnx tests/qlinear/*/model.onnx tests/qlinear/*.onnx tests/qdq/*/model.onnx; do
  cp "$m" "$B/seeds/$(basename "$(dirname "$m")")_$(basename "$m")"
done
/usr/bin/python3 tests/hostile/make_corpus.py $B/hostile >/dev/null
find $B/hostile -type f -name '*.onnx' | while read -r f; do
  cp "$f" "$B/seeds/hostile_$(basename "$(dirname "$f")")_$(basename "$f")"
done

# -max_len: the largest seed is 26 KB (resnet); -timeout: seconds for one input (the test models
# take well under one); -rss_limit_mb: tinyc's own caps (1 GiB a tensor) must keep it below.
COMMON=(-max_total_time="$SECONDS_TO_RUN" -max_len=65536 -timeout=20 -rss_limit_mb=4096
        -dict=tests/fuzz/onnx.dict -artifact_prefix=$B/artifacts/ -print_final_stats=1)
if [ "$TARGET" = compile ]; then
  # -fork=1 with -ignore_*: one worker process at a time that is restarted after a finding, so the
  # run goes on for the whole time and collects every finding.
  $B/tests/fuzz_compile $CORPUS $B/seeds tests/fuzz/regressions "${COMMON[@]}" \
    -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 2>&1 | tee $LOG | \
    grep -E '^#[0-9]+|INFO: fuzzed|CRASH|ERROR|SUMMARY|stat::' || true
else
  # One process that stops at the first finding (fast enough not to need fork mode's restarts).
  /usr/bin/python3 tests/fuzz/make_seeds.py $B/seeds
  $B/tests/fuzz_import $CORPUS $B/seeds tests/fuzz/regressions "${COMMON[@]}" 2>&1 | tee $LOG | \
    grep -E 'INITED|DONE|pulse|ERROR|SUMMARY|Done|stat::' || true
fi
echo "findings in $B/artifacts:"
ls $B/artifacts
