/* Minimal bare-metal start-up for the qemu Cortex-M machines (see tests/mcu/README.md).
   Vector table, reset handler (copy .data, zero .bss, enable the FPU/MVE, semihosting, static
   constructors, main, exit) and a fault handler that stops qemu with an error through
   semihosting. Linked with -nostartfiles --specs=nano.specs --specs=rdimon.specs. */
#include <stdint.h>
#include <stdlib.h>

extern uint32_t __data_load, __data_start, __data_end, __bss_start, __bss_end, __StackTop;
extern void initialise_monitor_handles(void);
extern void __libc_init_array(void);
extern int main(void);

/* crti/crtn are not linked (-nostartfiles): __libc_init_array and exit call these. */
void _init(void) {}
void _fini(void) {}

static int semihost(int op, const void *arg) {
  register int r0 __asm__("r0") = op;
  register const void *r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

static void put_hex(char *p, uint32_t v) {
  for (int i = 7; i >= 0; --i, v >>= 4) p[i] = "0123456789abcdef"[v & 0xF];
}

/* Any fault: report the exception number and the faulting PC, then SYS_EXIT with
   ADP_Stopped_RunTimeError (qemu exits 1). frame = the stacked r0-r3, r12, lr, pc, xpsr. */
__attribute__((noreturn, used)) static void fault_report(const uint32_t *frame) {
  uint32_t ipsr;
  __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
  char msg[] = "tinyc-mcu: FAULT exception xxxxxxxx pc xxxxxxxx\n";
  put_hex(msg + 27, ipsr & 0x1FF);
  put_hex(msg + 39, frame[6]);
  semihost(0x04 /* SYS_WRITE0 */, msg);
  for (;;) semihost(0x18 /* SYS_EXIT */, (const void *)0x20023);
}

__attribute__((naked)) void Fault_Handler(void) {
  __asm__ volatile("mrs r0, msp\n\tldr r1, =fault_report\n\tbx r1\n\t.ltorg");
}

__attribute__((noreturn)) void Reset_Handler(void) {
  uint32_t *src = &__data_load, *dst = &__data_start;
  while (dst < &__data_end) *dst++ = *src++;
  for (dst = &__bss_start; dst < &__bss_end;) *dst++ = 0;
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
  *(volatile uint32_t *)0xE000ED88 |= 0xFu << 20; /* CPACR: CP10, CP11 full access */
  __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
  initialise_monitor_handles();
  __libc_init_array();
  exit(main());
}

typedef void (*vector_t)(void);
__attribute__((section(".vectors"), used)) const vector_t vector_table[16] = {
    (vector_t)&__StackTop, Reset_Handler,
    Fault_Handler, /* NMI */
    Fault_Handler, /* HardFault */
    Fault_Handler, /* MemManage */
    Fault_Handler, /* BusFault */
    Fault_Handler, /* UsageFault */
    Fault_Handler, /* SecureFault (v8-M) */
    0, 0, 0,
    Fault_Handler, /* SVCall */
    Fault_Handler, /* DebugMon */
    0,
    Fault_Handler, /* PendSV */
    Fault_Handler, /* SysTick */
};
