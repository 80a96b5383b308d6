#!/usr/bin/env bash
# Builds both samples for Cortex-M4 and runs them under qemu (mps2-an386); each prints the class
# it recognises and exits 0 when it is the expected one.
set -euo pipefail
cd "$(dirname "$0")"
TINYC=${TINYC:-$(pwd)/../build/tinyc}
BUILD=${BUILD:-$(pwd)/../build/samples}
for s in kws_cpp digits_c; do
  cmake -S $s -B "$BUILD/$s" -DTINYC_EXECUTABLE="$TINYC" > /dev/null
  cmake --build "$BUILD/$s" > /dev/null
  app=$(find "$BUILD/$s" -maxdepth 1 -type f -perm -u+x | head -n 1)
  echo "$s: $(timeout 60 qemu-system-arm -machine mps2-an386 -nographic -monitor none \
    -semihosting-config enable=on,target=native -kernel "$app")"
done
