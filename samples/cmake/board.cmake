# The qemu mps2-an386 board (Cortex-M4): start-up code and linker script shared with tinyc's own
# emulated tests. Run the result with:
#   qemu-system-arm -machine mps2-an386 -nographic -monitor none -semihosting-config enable=on,target=native -kernel APP
set(TINYC_ROOT ${CMAKE_CURRENT_LIST_DIR}/../..)
function(add_board_executable name)
  add_executable(${name} ${ARGN} ${TINYC_ROOT}/tests/mcu/startup.c)
  target_link_options(${name} PRIVATE -L${TINYC_ROOT}/tests/mcu/ld -Tmps2-an386.ld)
endfunction()
if(NOT TINYC_EXECUTABLE)
  set(TINYC_EXECUTABLE ${TINYC_ROOT}/build/tinyc)
endif()
include(${TINYC_ROOT}/cmake/tinyc.cmake)
