# Precompiled headers (option AUTOPLACER_PCH; scripts/setup.sh turns it on). Most translation units
# include Asio, Beast and Boost.JSON, whose headers take ~6 s of every compile; one shared PCH
# (target ap_pch) cuts a full build by about a fifth. A PCH hides a missing #include, so the
# fuzz build (clang, no PCH) and plain cmake builds (option off) still catch those.
#
# Call ap_apply_precompiled_headers() at the end of the top-level CMakeLists.txt: it reuses the
# PCH in every C++ library and executable defined so far, except those listed in `skip` (pure code
# that includes none of these headers, where loading the 270 MB PCH costs more than it saves).
function(ap_collect_targets dir out)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(sub ${subdirs})
    ap_collect_targets(${sub} sub_targets)
    list(APPEND targets ${sub_targets})
  endforeach()
  set(${out} ${targets} PARENT_SCOPE)
endfunction()

function(ap_apply_precompiled_headers)
  cmake_parse_arguments(P "" "" "SKIP" ${ARGN})
  add_library(ap_pch STATIC ${CMAKE_SOURCE_DIR}/cmake/ap_pch.cpp)
  target_link_libraries(ap_pch PUBLIC Boost::json Boost::url Boost::system spdlog::spdlog fmt::fmt)
  target_precompile_headers(ap_pch PRIVATE
    <boost/asio.hpp> <boost/beast/core.hpp> <boost/beast/http.hpp> <boost/json.hpp>
    <spdlog/spdlog.h> <chrono> <functional> <map> <memory> <optional> <string> <vector>)
  ap_collect_targets(${CMAKE_SOURCE_DIR} targets)
  foreach(t ${targets})
    if(t STREQUAL "ap_pch" OR t IN_LIST P_SKIP)
      continue()
    endif()
    get_target_property(type ${t} TYPE)
    if(NOT type MATCHES "^(STATIC_LIBRARY|EXECUTABLE|OBJECT_LIBRARY)$")
      continue()
    endif()
    get_target_property(sources ${t} SOURCES)
    if(NOT sources MATCHES "\\.cpp")
      continue()
    endif()
    target_precompile_headers(${t} REUSE_FROM ap_pch)
  endforeach()
endfunction()
