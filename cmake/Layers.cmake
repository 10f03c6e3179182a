# mlxlm_layer(NAME DEPS dep...): one static library per folder src/NAME.
#
# Each layer gets its own include root, build/layer_include/NAME, holding a single link
# NAME -> src/NAME. Code writes `#include "NAME/file.h"`, and that only resolves for targets
# that link the layer, so an upward include is a build error rather than a review comment.
# Links are PUBLIC because a layer's headers carry the types of the layers below it.
function(mlxlm_layer name)
  cmake_parse_arguments(L "" "" "DEPS;INCLUDES" ${ARGN})
  file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/*.cc)
  set(root ${PROJECT_BINARY_DIR}/layer_include/${name})
  file(MAKE_DIRECTORY ${root})
  file(CREATE_LINK ${PROJECT_SOURCE_DIR}/src/${name} ${root}/${name} SYMBOLIC)
  if(srcs)
    add_library(mlxlm_${name} STATIC ${srcs})
    target_include_directories(mlxlm_${name} PUBLIC ${root} ${L_INCLUDES})
    target_link_libraries(mlxlm_${name} PUBLIC ${L_DEPS})
  else()
    add_library(mlxlm_${name} INTERFACE)
    target_include_directories(mlxlm_${name} INTERFACE ${root} ${L_INCLUDES})
    target_link_libraries(mlxlm_${name} INTERFACE ${L_DEPS})
  endif()
endfunction()

# mlxlm_test(LAYER): one GoogleTest binary per folder tests/LAYER, linked to that layer.
function(mlxlm_test layer)
  file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${layer}/*.cc)
  list(FILTER srcs EXCLUDE REGEX "random_model\\.cc$")
  if(NOT srcs)
    return()
  endif()
  add_executable(test_${layer} ${srcs})
  mlxlm_test_compile_options(test_${layer})
  target_link_libraries(test_${layer} PRIVATE mlxlm_${layer} mlxlm_testing GTest::gtest_main
                                              GTest::gmock)
  if(TARGET mlxlm_io AND layer MATCHES "^(cache|nn|models|generate|engine|server|constrain)$")
    target_link_libraries(test_${layer} PRIVATE mlxlm_testing_models)
  endif()
  gtest_discover_tests(test_${layer} DISCOVERY_TIMEOUT 60
                       PROPERTIES ENVIRONMENT "MLXLM_SHARED=${MLXLM_SHARED_DIR}")
endfunction()

# How test files compile. Their own code only calls the layers under test, which keep their
# optimisation, so they build at -O1 in the release tree (5-28 % less compile time than -O3)
# and at -O0 in the sanitizer trees (23-39 % less than -O1 with ASan and UBSan). GoogleTest,
# nlohmann/json and the standard headers, whose parsing was about half of each file's time, come
# from one precompiled header made for test_base and reused by every test binary
# (docs/benchmarks.md, "Build and test time").
function(mlxlm_test_compile_options target)
  if(NOT MLXLM_SANITIZE STREQUAL "")
    target_compile_options(${target} PRIVATE -O0)
  elseif(CMAKE_BUILD_TYPE STREQUAL "Release")
    target_compile_options(${target} PRIVATE -O1)
  endif()
  if(target STREQUAL "test_base")
    set(headers <gtest/gtest.h> <algorithm> <cmath> <cstring> <filesystem> <fstream> <map>
                <string> <vector>)
    if(NOT MLXLM_KERNELS_ONLY)
      list(APPEND headers <nlohmann/json.hpp>)
    endif()
    target_precompile_headers(test_base PRIVATE ${headers})
  else()
    target_precompile_headers(${target} REUSE_FROM test_base)
  endif()
endfunction()
