// What both fuzz targets (fuzz_compile.cpp, fuzz_import.cpp) do with one input: run it, keep
// tinyc's refusal (ModelError, IoError: a right answer) for fuzz_replay, and abort on any other
// exception, which is a bug (the command line would print "internal error").
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "ir/ir.h"

// What the last input gave: empty when it went through, else tinyc's refusal.
extern std::string tinyc_fuzz_refusal;

template <class F>
int fuzz_one_input(const uint8_t* data, size_t size, F run) {
  tinyc_fuzz_refusal.clear();
  try {
    run(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const tinyc::ModelError& e) {
    tinyc_fuzz_refusal = e.what();
  } catch (const tinyc::IoError& e) {
    tinyc_fuzz_refusal = e.what();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tinyc fuzz: unexpected exception: %s\n", e.what());
    std::abort();
  }
  return 0;
}
