# ap_area_library(NAME ap_x LIBS ...): a library from every *.cpp of the calling src/ folder.
# Globbing (with CONFIGURE_DEPENDS) lets several people add files to one area without editing a
# shared list; a file that should not be in the library (a main()) is named *_main.cpp.
function(ap_area_library)
  cmake_parse_arguments(A "" "NAME" "LIBS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  list(FILTER sources EXCLUDE REGEX "_main\\.cpp$")
  if(sources)
    add_library(${A_NAME} STATIC ${sources})
    target_link_libraries(${A_NAME} PUBLIC ${A_LIBS})
  else()
    add_library(${A_NAME} INTERFACE)
    target_link_libraries(${A_NAME} INTERFACE ${A_LIBS})
  endif()
endfunction()

# In tests/X/CMakeLists.txt: include every tests/X/*.cmake, one per owner of tests in that folder.
macro(ap_include_test_parts)
  file(GLOB parts CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cmake)
  foreach(part ${parts})
    include(${part})
  endforeach()
endmacro()
