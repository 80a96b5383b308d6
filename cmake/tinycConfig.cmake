# find_package(tinyc): the installed tinyc binary and tinyc_add_model().
get_filename_component(_tinyc_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TINYC_EXECUTABLE)
  set(TINYC_EXECUTABLE "${_tinyc_prefix}/bin/tinyc")
endif()
include("${CMAKE_CURRENT_LIST_DIR}/tinyc.cmake")
