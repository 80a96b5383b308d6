/* Digit classification on a Cortex-M4, in plain C: the tinyc header is C-compatible. */
#include <stdio.h>

#include "input.h"
#include "mlp.h"

int main(void) {
  static float logits[MLP_OUTPUT0_SIZE];
  const void *in[1];
  void *out[1];
  int best = 0, i;
  in[0] = kInput;
  out[0] = logits;
  if (mlp_run(in, out) != 0) return 1;
  for (i = 1; i < MLP_OUTPUT0_SIZE; ++i)
    if (logits[i] > logits[best]) best = i;
  printf("class %d; expected %d\n", best, EXPECTED_CLASS);
  return best == EXPECTED_CLASS ? 0 : 2;
}
