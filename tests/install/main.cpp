// Runs the model compiled through the installed tinyc_add_model() once on zeros.
#include <cstdio>

#include "net.h"

int main() {
  static float x[NET_INPUT0_SIZE], y[NET_OUTPUT0_SIZE];
  const void* in[1] = {x};
  void* out[1] = {y};
  if (net_run(in, out) != 0) return 1;
  std::printf("net_run: %d outputs\n", NET_OUTPUT0_SIZE);
  return 0;
}
