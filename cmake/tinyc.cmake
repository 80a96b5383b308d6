# tinyc_add_model(<target> MODEL <file.onnx> TARGET <cpu> [NAME <name>]
#                 [QUANTIZE int8 CALIBRATION <data>] [OPTIONS <extra tinyc options>...])
#
# Compiles an ONNX model with tinyc at build time (again whenever the model or tinyc changes) and
# adds the generated sources and their folder to <target>. Set TINYC_EXECUTABLE to the tinyc
# binary if it is not on PATH.
if(NOT TINYC_EXECUTABLE)
  find_program(TINYC_EXECUTABLE tinyc REQUIRED)
endif()

function(tinyc_add_model tgt)
  cmake_parse_arguments(T "" "MODEL;TARGET;NAME;QUANTIZE;CALIBRATION" "OPTIONS" ${ARGN})
  if(NOT T_MODEL OR NOT T_TARGET)
    message(FATAL_ERROR "tinyc_add_model: MODEL and TARGET are required")
  endif()
  get_filename_component(model ${T_MODEL} ABSOLUTE)
  if(NOT T_NAME)
    get_filename_component(T_NAME ${model} NAME_WE)
    string(MAKE_C_IDENTIFIER ${T_NAME} T_NAME)
  endif()
  set(out ${CMAKE_CURRENT_BINARY_DIR}/tinyc_${T_NAME})
  set(args compile ${model} --target ${T_TARGET} -o ${out} --name ${T_NAME} -q ${T_OPTIONS})
  set(deps ${model} ${TINYC_EXECUTABLE})
  if(T_QUANTIZE)
    list(APPEND args --quantize ${T_QUANTIZE})
  endif()
  if(T_CALIBRATION)
    get_filename_component(calib ${T_CALIBRATION} ABSOLUTE)
    list(APPEND args --calibration ${calib})
    list(APPEND deps ${calib})
  endif()
  set(sources ${out}/${T_NAME}.cpp ${out}/${T_NAME}_weights.cpp)
  add_custom_command(
    OUTPUT ${sources} ${out}/${T_NAME}.h
    COMMAND ${TINYC_EXECUTABLE} ${args}
    DEPENDS ${deps}
    COMMENT "tinyc: compiling ${T_MODEL} for ${T_TARGET}"
    VERBATIM)
  target_sources(${tgt} PRIVATE ${sources})
  target_include_directories(${tgt} PRIVATE ${out})
endfunction()
