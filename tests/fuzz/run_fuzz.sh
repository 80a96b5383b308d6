#!/usr/bin/env bash
# Builds the libFuzzer target (clang-14, ASan + UBSan, build-fuzz/) and runs it for SECONDS
# (default 1800) on one core. A benchmark, not a test: CI replays its findings (fuzz_regressions).
#
#   tests/fuzz/run_fuzz.sh [SECONDS]
#
# Seeds: the test models, tests/qlinear, the hostile corpus and tests/fuzz/regressions. New
# inputs go to build-fuzz/corpus (kept between runs), crashes, leaks and timeouts to
# build-fuzz/artifacts/ (then: minimize with `build-fuzz/tests/fuzz_compile -minimize_crash=1 FILE`,
# fix tinyc, and add the input to tests/fuzz/regressions/). The log is build-fuzz/fuzz.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_TO_RUN=${1:-1800}
B=build-fuzz

cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 -DTINYC_FUZZ=ON >/dev/null
cmake --build $B --target fuzz_compile -j 2

rm -rf $B/seeds && mkdir -p $B/seeds $B/corpus $B/artifacts
for m in tests/models/*/model.onnx tests/qlinear/*/model.onnx tests/qlinear/*.onnx; do
  cp "$m" "$B/seeds/$(basename "$(dirname "$m")")_$(basename "$m")"
done
/usr/bin/python3 tests/hostile/make_corpus.py $B/hostile >/dev/null
find $B/hostile -type f -name '*.onnx' | while read -r f; do
  cp "$f" "$B/seeds/hostile_$(basename "$(dirname "$f")")_$(basename "$f")"
done

# -max_len: the largest seed is 26 KB (resnet); -timeout: seconds for one input (the test models
# take well under one); -rss_limit_mb: tinyc's own caps (1 GiB a tensor) must keep it below.
# -fork=1 with -ignore_*: one worker process at a time that is restarted after a finding, so the
# run goes on for the whole time and collects every finding.
$B/tests/fuzz_compile $B/corpus $B/seeds tests/fuzz/regressions \
  -max_total_time="$SECONDS_TO_RUN" -max_len=65536 -timeout=20 -rss_limit_mb=4096 \
  -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
  -artifact_prefix=$B/artifacts/ -print_final_stats=1 2>&1 | tee $B/fuzz.log | \
  grep -E '^#[0-9]+|INFO: fuzzed|CRASH|ERROR|SUMMARY|stat::' || true
echo "findings in $B/artifacts:"
ls $B/artifacts
