// Generic firmware driver for one tinyc-generated model (see tests/mcu/README.md).
//
// Build with -DMODEL_HEADER='"net.h"' -DMODEL_NAME=net -DMODEL_UPPER=NET and the board's counter:
//   -DCOUNTER_FPGAIO=0x40028000 -DCOUNTER_HZ=25000000     (MPS2/MPS3: FPGAIO base; COUNTER, CLK100HZ)
//   -DCOUNTER_NRF51_TIMER0 -DCOUNTER_HZ=16000000          (micro:bit: TIMER0, TIMER1)
// Through semihosting (paths relative to qemu's working folder) it reads in_0.bin ... (raw
// little-endian elements of NAME_INPUTi_TYPE), runs the model once between two counter reads
// with the stack painted, and writes out_0.bin ... and stats.txt ("key value" lines).
// With -DTINYC_PROFILE (the model's .cpp built with it too) it also writes profile.csv: one line
// "layer,instructions,name" per layer of the run, for `tinyc compile --profile`.
// Exit status: 0 ok; 2 input missing/short; 3 model returned non-zero; 4 stack overflow; 5 write error.
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include MODEL_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define RUN CAT(MODEL_NAME, _run)
#define M(x) CAT(MODEL_UPPER, x)  // M(_ARENA_SIZE) -> NET_ARENA_SIZE
#define NUM_IN M(_NUM_INPUTS)
#define NUM_OUT M(_NUM_OUTPUTS)
#define IN_BUF(i) alignas(8) static M(CAT(CAT(_INPUT, i), _TYPE)) in##i[M(CAT(CAT(_INPUT, i), _SIZE))];
#define OUT_BUF(i) alignas(8) static M(CAT(CAT(_OUTPUT, i), _TYPE)) out##i[M(CAT(CAT(_OUTPUT, i), _SIZE))];

#if NUM_IN > 8 || NUM_OUT > 8
#error "tests/mcu/main.cpp handles at most 8 inputs and 8 outputs"
#endif
#if NUM_IN > 0
IN_BUF(0)
#endif
#if NUM_IN > 1
IN_BUF(1)
#endif
#if NUM_IN > 2
IN_BUF(2)
#endif
#if NUM_IN > 3
IN_BUF(3)
#endif
#if NUM_IN > 4
IN_BUF(4)
#endif
#if NUM_IN > 5
IN_BUF(5)
#endif
#if NUM_IN > 6
IN_BUF(6)
#endif
#if NUM_IN > 7
IN_BUF(7)
#endif
#if NUM_OUT > 0
OUT_BUF(0)
#endif
#if NUM_OUT > 1
OUT_BUF(1)
#endif
#if NUM_OUT > 2
OUT_BUF(2)
#endif
#if NUM_OUT > 3
OUT_BUF(3)
#endif
#if NUM_OUT > 4
OUT_BUF(4)
#endif
#if NUM_OUT > 5
OUT_BUF(5)
#endif
#if NUM_OUT > 6
OUT_BUF(6)
#endif
#if NUM_OUT > 7
OUT_BUF(7)
#endif

struct Buf {
  void *p;
  unsigned bytes;
};
#define ENTRY(b) {(void *)b, sizeof b},
static const Buf in_bufs[] = {
#if NUM_IN > 0
    ENTRY(in0)
#endif
#if NUM_IN > 1
    ENTRY(in1)
#endif
#if NUM_IN > 2
    ENTRY(in2)
#endif
#if NUM_IN > 3
    ENTRY(in3)
#endif
#if NUM_IN > 4
    ENTRY(in4)
#endif
#if NUM_IN > 5
    ENTRY(in5)
#endif
#if NUM_IN > 6
    ENTRY(in6)
#endif
#if NUM_IN > 7
    ENTRY(in7)
#endif
    {nullptr, 0}};
static const Buf out_bufs[] = {
#if NUM_OUT > 0
    ENTRY(out0)
#endif
#if NUM_OUT > 1
    ENTRY(out1)
#endif
#if NUM_OUT > 2
    ENTRY(out2)
#endif
#if NUM_OUT > 3
    ENTRY(out3)
#endif
#if NUM_OUT > 4
    ENTRY(out4)
#endif
#if NUM_OUT > 5
    ENTRY(out5)
#endif
#if NUM_OUT > 6
    ENTRY(out6)
#endif
#if NUM_OUT > 7
    ENTRY(out7)
#endif
    {nullptr, 0}};

// ---- the board's free-running counters ----
// counter() is the fine 32-bit counter (COUNTER_HZ); coarse() a slow one from the same virtual
// clock that tells how many times the fine one wrapped during a long region.
#if defined(COUNTER_FPGAIO)  // FPGAIO base: COUNTER at +0x18, CLK100HZ at +0x14
#define COARSE_HZ 100
static inline void counter_init() {}
static inline uint32_t counter() { return *(volatile uint32_t *)(COUNTER_FPGAIO + 0x18); }
static inline uint32_t coarse() { return *(volatile uint32_t *)(COUNTER_FPGAIO + 0x14); }
#elif defined(COUNTER_NRF51_TIMER0)  // TIMER0 at 16 MHz; TIMER1 at 16 MHz / 2^9
#define COARSE_HZ 31250
#define TIMER(base, off) (*(volatile uint32_t *)((base) + (off)))
static void timer_start(uint32_t base, uint32_t prescaler) {
  TIMER(base, 0x004) = 1;          // TASKS_STOP
  TIMER(base, 0x504) = 0;          // MODE = timer
  TIMER(base, 0x508) = 3;          // BITMODE = 32 bit
  TIMER(base, 0x510) = prescaler;  // f = 16 MHz / 2^prescaler
  TIMER(base, 0x00C) = 1;          // TASKS_CLEAR
  TIMER(base, 0x000) = 1;          // TASKS_START
}
static inline void counter_init() {
  timer_start(0x40008000u, 0);
  timer_start(0x40009000u, 9);
}
static inline uint32_t counter() {
  TIMER(0x40008000u, 0x040) = 1;     // TASKS_CAPTURE[0]
  return TIMER(0x40008000u, 0x540);  // CC[0]
}
static inline uint32_t coarse() {
  TIMER(0x40009000u, 0x040) = 1;
  return TIMER(0x40009000u, 0x540);
}
#else
#error "define COUNTER_FPGAIO=base or COUNTER_NRF51_TIMER0, and COUNTER_HZ"
#endif

// Fine ticks of a region, the wraps of the 32-bit counter restored from the coarse counter.
static uint64_t region_ticks(uint32_t t0, uint32_t t1, uint32_t c0, uint32_t c1) {
  uint64_t ticks = (uint32_t)(t1 - t0);
  const uint64_t expect = (uint64_t)(uint32_t)(c1 - c0) * COUNTER_HZ / COARSE_HZ;
  while (expect > ticks + (1ull << 31)) ticks += 1ull << 32;
  return ticks;
}

// The measured regions, in functions of their own so that the compiler schedules nothing
// else between the reads: an empty region, and one call of the model.
__attribute__((noinline)) static uint32_t time_empty() {
  const uint32_t t0 = counter();
  return counter() - t0;
}

// Self-check of the counter: a subs/bne loop of 1000 iterations is 2000 instructions.
__attribute__((noinline)) static uint32_t time_loop() {
  uint32_t n = 1000;
  const uint32_t t0 = counter();
  __asm__ volatile(".syntax unified\n1: subs %0, %0, #1\n\tbne 1b" : "+l"(n)::"cc");
  return counter() - t0;
}

static inline uint32_t get_sp() {
  uint32_t sp;
  __asm__ volatile("mov %0, sp" : "=r"(sp));
  return sp;
}

static uint32_t run_sp;  // sp at the call of the model: peak stack is measured from here

__attribute__((noinline)) static uint64_t time_run(const void *const *in, void *const *out, int *rc) {
  run_sp = get_sp();
  const uint32_t c0 = coarse();
  const uint32_t t0 = counter();
  const int r = RUN(in, out);
  const uint32_t t1 = counter();
  const uint32_t c1 = coarse();
  *rc = r;
  return region_ticks(t0, t1, c0, c1);
}

// Instructions for a tick count: qemu -icount shift=8 advances the virtual clock 256 ns per
// instruction, so insns = round(ticks * 1e9 / HZ / 256), computed as ticks * NUM / DEN.
constexpr uint64_t gcd(uint64_t a, uint64_t b) { return b ? gcd(b, a % b) : a; }
constexpr uint64_t NUM = 1000000000ull / gcd(1000000000ull, 256ull * COUNTER_HZ);
constexpr uint64_t DEN = 256ull * COUNTER_HZ / gcd(1000000000ull, 256ull * COUNTER_HZ);
static uint64_t to_insns(uint64_t ticks) { return (ticks * NUM + DEN / 2) / DEN; }

static char *put_digits(char *p, uint64_t v) {  // nano printf has no %llu
  char digits[24];
  int n = 0;
  do digits[n++] = (char)('0' + v % 10); while (v /= 10);
  while (n) *p++ = digits[--n];
  return p;
}

static char *put_u64(char *p, const char *key, uint64_t v) {  // "key v\n"
  while (*key) *p++ = *key++;
  *p++ = ' ';
  p = put_digits(p, v);
  *p++ = '\n';
  return p;
}

// ---- per-layer profile (TINYC_PROFILE) ----
// The generated NAME_run calls NAME_profile(layer, name, 0) before and (layer, name, 1) after each
// layer. The ticks between the two counter reads, less those of an empty layer (the calls
// themselves), are the layer's instructions.
#ifdef TINYC_PROFILE
#ifndef PROFILE_MAX_LAYERS
#define PROFILE_MAX_LAYERS 256
#endif
static uint64_t layer_ticks[PROFILE_MAX_LAYERS];
static const char *layer_name[PROFILE_MAX_LAYERS];
static uint32_t layer_t0, layer_c0, layers_dropped;

extern "C" __attribute__((noinline)) void CAT(MODEL_NAME, _profile)(int layer, const char *name, int end) {
  if (!end) {
    layer_c0 = coarse();
    layer_t0 = counter();
    return;
  }
  const uint32_t t1 = counter(), c1 = coarse();
  if (layer < 0 || layer >= PROFILE_MAX_LAYERS) {
    ++layers_dropped;
    return;
  }
  layer_ticks[layer] += region_ticks(layer_t0, t1, layer_c0, c1);
  layer_name[layer] = name;
}

// Ticks of an empty layer: the two calls, as the generated code makes them.
__attribute__((noinline)) static uint64_t profile_overhead() {
  CAT(MODEL_NAME, _profile)(0, "", 0);
  CAT(MODEL_NAME, _profile)(0, "", 1);
  const uint64_t t = layer_ticks[0];
  layer_ticks[0] = 0;
  layer_name[0] = nullptr;
  return t;
}
#endif

// ---- stack painting ----
// The stack may use all the RAM between the heap and the top (the linker script only checks that
// __stack_size of it is left); all of it is painted, from a little above the heap's current end.
extern "C" char end[];                  // the heap starts here ...
extern "C" void *_sbrk(ptrdiff_t incr);  // ... and newlib's malloc grows it with this
static uint32_t *paint_base;
static const uint32_t PAINT = 0xC5AC5AC5u;

// Fills [from, sp) with pattern. Naked: no prologue stores anything below the sp it reads.
// (".syntax unified": GCC hands Thumb-1 inline asm over in divided syntax.)
__attribute__((naked, noinline)) static void paint_stack(uint32_t * /*from*/, uint32_t /*pattern*/) {
  __asm__ volatile(
      ".syntax unified\n"
      "   mov r2, sp\n"
      "1: cmp r0, r2\n"
      "   bhs 2f\n"
      "   str r1, [r0]\n"
      "   adds r0, r0, #4\n"
      "   b 1b\n"
      "2: bx lr\n");
}

// Bytes between sp_ref and the lowest word that no longer holds PAINT.
static uint32_t stack_used(uint32_t sp_ref) {
  const uint32_t *p = paint_base;
  while ((uint32_t)p < sp_ref && *p == PAINT) ++p;
  return sp_ref - (uint32_t)p;
}

// ---- semihosting file I/O (newlib + librdimon; no stdio buffers, so no heap) ----
static int read_file(const char *path, void *buf, unsigned n) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  unsigned got = 0;
  while (got < n) {
    int r = read(fd, (char *)buf + got, n - got);
    if (r <= 0) break;
    got += (unsigned)r;
  }
  char extra;
  int more = read(fd, &extra, 1);  // the file must hold exactly n bytes
  close(fd);
  return (got == n && more == 0) ? 0 : -1;
}

static int write_file(const char *path, const void *buf, unsigned n) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return -1;
  int w = write(fd, buf, n);
  close(fd);
  return w == (int)n ? 0 : -1;
}

static void say(const char *msg) { write(2, msg, strlen(msg)); }

int main() {
  paint_base = (uint32_t *)(((uintptr_t)_sbrk(0) + 512 + 7) & ~(uintptr_t)7);  // 512 B for heap growth
  paint_stack(paint_base, PAINT);  // for the guard at the end: the whole program's stack
  char path[32];
  for (unsigned i = 0; i < NUM_IN; ++i) {
    snprintf(path, sizeof path, "in_%u.bin", i);
    if (read_file(path, in_bufs[i].p, in_bufs[i].bytes) != 0) {
      say("tinyc-mcu: input file missing or of the wrong size: ");
      say(path);
      say("\n");
      return 2;
    }
  }
  void *outputs[NUM_OUT + 1];
  const void *inputs[NUM_IN + 1];
  for (unsigned i = 0; i < NUM_OUT; ++i) outputs[i] = out_bufs[i].p;
  for (unsigned i = 0; i < NUM_IN; ++i) inputs[i] = in_bufs[i].p;

  counter_init();
#ifdef TINYC_PROFILE
  const uint64_t overhead_ticks = profile_overhead();
#endif
  const uint32_t loop_ticks = time_loop();
  const uint32_t empty_ticks = time_empty();
  paint_stack(paint_base, PAINT);
  int rc = -1;
  const uint64_t ticks = time_run(inputs, outputs, &rc);
  const uint32_t stack = stack_used(run_sp);
  int overflow = (uint32_t)(paint_base + 16) + stack >= run_sp;

  const uint64_t empty = to_insns(empty_ticks);
  char stats[400], *p = stats;
  p += snprintf(p, 16, "rc %d\n", rc);
  p = put_u64(p, "insns", to_insns(ticks) - empty);
  p = put_u64(p, "ticks", ticks);
  p = put_u64(p, "counter_wraps", ticks >> 32);
  p = put_u64(p, "empty_ticks", empty_ticks);
  p = put_u64(p, "empty_insns", empty);
  p = put_u64(p, "counter_hz", COUNTER_HZ);
  p = put_u64(p, "loop1000_insns", to_insns(loop_ticks) - empty);
  p = put_u64(p, "stack_peak", stack);
  p = put_u64(p, "stack_overflow", (uint64_t)overflow);
  p = put_u64(p, "arena", M(_ARENA_SIZE));
  p = put_u64(p, "heap_used", (uint64_t)((char *)_sbrk(0) - end));
  int bad = 0;
#ifdef TINYC_PROFILE
  const uint64_t overhead = to_insns(overhead_ticks);
  p = put_u64(p, "profile_overhead_insns", overhead);
  p = put_u64(p, "profile_layers_dropped", layers_dropped);
  int fd = open("profile.csv", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  bad |= fd < 0 || write(fd, "layer,instructions,name\n", 24) != 24;
  for (int i = 0; fd >= 0 && i < PROFILE_MAX_LAYERS; ++i) {
    if (!layer_name[i]) continue;
    char row[128], *q = row;
    const uint64_t insns = to_insns(layer_ticks[i]);
    q = put_digits(q, (uint64_t)i);
    *q++ = ',';
    q = put_digits(q, insns > overhead ? insns - overhead : 0);
    *q++ = ',';
    for (const char *c = layer_name[i]; *c && q < row + sizeof row - 1; ++c) *q++ = *c;
    *q++ = '\n';
    bad |= write(fd, row, (unsigned)(q - row)) != (int)(q - row);
  }
  if (fd >= 0) close(fd);
#endif
  const unsigned len = (unsigned)(p - stats);
  bad |= write_file("stats.txt", stats, len);
  for (unsigned i = 0; i < NUM_OUT; ++i) {
    snprintf(path, sizeof path, "out_%u.bin", i);
    bad |= write_file(path, out_bufs[i].p, out_bufs[i].bytes);
  }
  if (bad) {
    say("tinyc-mcu: cannot write an output file\n");
    return 5;
  }
  for (int i = 0; i < 16; ++i) overflow |= paint_base[i] != PAINT;  // guard: 64 bytes never touched
  if (overflow) {
    say("tinyc-mcu: stack overflow: the stack reached the heap\n");
    return 4;
  }
  return rc == 0 ? 0 : 3;
}
