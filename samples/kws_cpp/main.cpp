// Keyword spotting on a Cortex-M4: one MFCC window through the tinyc-compiled DS-CNN.
#include <stdio.h>

#include "input.h"
#include "kws.h"

static const char* const kLabels[12] = {"silence", "unknown", "yes", "no",  "up",  "down",
                                        "left",    "right",   "on",  "off", "stop", "go"};

int main() {
  static float scores[KWS_OUTPUT0_SIZE];
  const void* in[] = {kInput};
  void* out[] = {scores};
  if (kws_run(in, out) != 0) return 1;
  int best = 0;
  for (int i = 1; i < KWS_OUTPUT0_SIZE; ++i)
    if (scores[i] > scores[best]) best = i;
  // newlib-nano's printf has no %f: print the probability in thousandths.
  printf("class %d (%s), p = %d/1000; expected %d\n", best, kLabels[best], static_cast<int>(scores[best] * 1000),
         EXPECTED_CLASS);
  return best == EXPECTED_CLASS ? 0 : 2;
}
