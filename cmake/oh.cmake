# oh_library(NAME folder DEPS ...): one library per folder. Sources are folder/src/*.cpp; the public
# headers are folder/*.hpp, included as "folder/name.hpp" from the repository root.
function(oh_library name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB _srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/*.cpp)
  if(NOT _srcs)  # header-only so far
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${name} INTERFACE ${ARG_DEPS})
    return()
  endif()
  add_library(${name} ${_srcs})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE oh_warnings)
  target_compile_definitions(${name} PRIVATE
    OH_SHARED_DIR="${OH_SHARED_DIR}" OH_ROBOTS_DIR="${OH_ROBOTS_DIR}")
endfunction()

# oh_tests(NAME DEPS ...): every folder/tests/*.cpp becomes one GoogleTest executable.
function(oh_tests name)
  if(NOT OH_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB _srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/tests/*.cpp)
  if(NOT _srcs)
    return()
  endif()
  add_executable(${name} ${_srcs})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main oh_warnings)
  target_compile_definitions(${name} PRIVATE
    OH_SHARED_DIR="${OH_SHARED_DIR}" OH_ROBOTS_DIR="${OH_ROBOTS_DIR}"
    OH_BINARY_DIR="${PROJECT_BINARY_DIR}" OH_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 900)
endfunction()

# oh_benchmarks(NAME DEPS ...): every folder/bench/*.cpp becomes one Google Benchmark executable.
function(oh_benchmarks name)
  if(NOT OH_BUILD_BENCHMARKS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB _srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/bench/*.cpp)
  if(NOT _srcs)
    return()
  endif()
  add_executable(${name} ${_srcs})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} benchmark::benchmark oh_warnings)
  target_compile_definitions(${name} PRIVATE
    OH_SHARED_DIR="${OH_SHARED_DIR}" OH_ROBOTS_DIR="${OH_ROBOTS_DIR}")
endfunction()
