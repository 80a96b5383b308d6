#!/usr/bin/env bash
# NAME_run_int8 of a model quantized by tinyc: from C11, on the int8 form of an input, it must give
# exactly the int8 values whose dequantization NAME_run returns for the float input.
set -euo pipefail
TINYC=$1 MODELS=$2 WORK=$3 EXTRA_FLAGS=${4:-}  # e.g. "-fsanitize=address,undefined"
rm -rf "$WORK" && mkdir -p "$WORK"
for m in mlp dscnn; do
  out="$WORK/$m"
  "$TINYC" compile "$MODELS/$m/model.onnx" --target host -o "$out" --name net -q \
    --quantize int8 --calibration "$MODELS/$m/data/calib.npy"
  cat > "$out/check.c" <<'C'
#include <math.h>
#include <stdio.h>
#include "net.h"
int main(void) {
  static float x[NET_INPUT0_SIZE], y[NET_OUTPUT0_SIZE];
  static int8_t qx[NET_INPUT0_SIZE], qy[NET_OUTPUT0_SIZE];
  const void *in[1];
  void *out[1];
  const int8_t *qin[1];
  int8_t *qout[1];
  int i, bad = 0;
  for (i = 0; i < NET_INPUT0_SIZE; ++i) {  /* values on the int8 grid of the input */
    qx[i] = (int8_t)((i * 37) % 256 - 128);
    x[i] = NET_INPUT0_SCALE * (float)(qx[i] - NET_INPUT0_ZERO_POINT);
  }
  in[0] = x, out[0] = y, qin[0] = qx, qout[0] = qy;
  if (net_run(in, out) || net_run_int8(qin, qout)) return 1;
  for (i = 0; i < NET_OUTPUT0_SIZE; ++i)
    if (NET_OUTPUT0_SCALE * (float)(qy[i] - NET_OUTPUT0_ZERO_POINT) != y[i]) ++bad;
  printf("%d of %d outputs differ\n", bad, NET_OUTPUT0_SIZE);
  return bad != 0;
}
C
  gcc -std=c11 -Wall -Wextra -Werror $EXTRA_FLAGS -I "$out" -c "$out/check.c" -o "$out/check.o"
  g++ -std=c++17 -O2 -Wall -Wextra -Werror $EXTRA_FLAGS -I "$out" "$out/check.o" "$out"/net.cpp "$out"/net_weights.cpp \
    -o "$out/check"
  echo -n "$m: "
  "$out/check"
done
