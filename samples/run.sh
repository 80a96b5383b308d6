#!/usr/bin/env bash
# Builds both samples for Cortex-M4 and runs them under qemu (mps2-an386); each prints the class
# it recognises and exits 0 when it is the expected one. Fails when qemu exits non-zero or times
# out, or when the printed class is not input.h's EXPECTED_CLASS (the torch reference's).
set -euo pipefail
cd "$(dirname "$0")"
TINYC=${TINYC:-$(pwd)/../build/tinyc}
BUILD=${BUILD:-$(pwd)/../build/samples}
for s in kws_cpp digits_c; do
  cmake -S $s -B "$BUILD/$s" -DTINYC_EXECUTABLE="$TINYC" > /dev/null
  cmake --build "$BUILD/$s" > /dev/null
  app=$(find "$BUILD/$s" -maxdepth 1 -type f -perm -u+x | head -n 1)
  rc=0
  out=$(timeout 60 qemu-system-arm -machine mps2-an386 -nographic -monitor none \
    -semihosting-config enable=on,target=native -kernel "$app") || rc=$?
  echo "$s: $out"
  if [ $rc -ne 0 ]; then
    echo "$s: FAIL: qemu exit $rc$([ $rc -ne 124 ] || echo ' (timed out after 60 s)')"
    exit 1
  fi
  want=$(sed -n 's/^#define EXPECTED_CLASS \([0-9]*\)$/\1/p' $s/input.h)
  if ! [[ $out =~ ^class\ ([0-9]+) && ${BASH_REMATCH[1]} == "$want" ]]; then
    echo "$s: FAIL: the firmware does not print class $want (input.h's EXPECTED_CLASS)"
    exit 1
  fi
done
