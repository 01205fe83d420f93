# berth_cc_library(NAME SRCS HDRS DEPS): makes berth_<name> with alias berth::<name>.
# Headers are included by their path from the repository root: "core/status.h".
function(berth_cc_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;HDRS;DEPS;PRIVATE_DEPS" ${ARGN})
  set(target berth_${ARG_NAME})
  if(ARG_SRCS)
    add_library(${target} STATIC ${ARG_SRCS} ${ARG_HDRS})
    target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
    target_link_libraries(${target} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  else()
    add_library(${target} INTERFACE ${ARG_HDRS})
    target_include_directories(${target} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${target} INTERFACE ${ARG_DEPS})
  endif()
  add_library(berth::${ARG_NAME} ALIAS ${target})
endfunction()

# Test code is compiled at -O1 in optimized builds. What a test exercises is in the libraries,
# built with the build type's flags; the test bodies (gtest's macros expand to a lot of code)
# only need to run, and optimizing them at -O3 was ~30% of their compile time.
function(berth_test_code target)
  target_compile_options(${target} PRIVATE $<$<CONFIG:Release,RelWithDebInfo>:-O1>)
endfunction()

# berth_cc_test(NAME SRCS DEPS [LABELS]): one GoogleTest binary per test file, registered with ctest.
function(berth_cc_test)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  if(NOT BERTH_BUILD_TESTS)
    return()
  endif()
  set(target ${ARG_NAME})
  add_executable(${target} ${ARG_SRCS})
  berth_test_code(${target})
  set_target_properties(${target} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  target_link_libraries(${target} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  add_test(NAME ${target} COMMAND ${target})
  if(ARG_LABELS)
    set_tests_properties(${target} PROPERTIES LABELS "${ARG_LABELS}")
  else()
    set_tests_properties(${target} PROPERTIES LABELS unit)
  endif()
endfunction()

# berth_cc_binary(NAME SRCS DEPS): a binary in build/bin.
function(berth_cc_binary)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS})
endfunction()

# Code that runs on the shim's small thread stacks (64-256 KiB, see shim-v2/ttrpc/thread.h):
# a frame of more than 16 KiB is a build error, because one that jumps the 4 KiB guard page
# writes into a neighbouring thread's memory instead of faulting. Sanitizer builds grow frames
# with redzones, so the check is left to the regular build.
function(berth_small_stack_code target)
  if(NOT BERTH_SANITIZE AND NOT BERTH_FUZZ)
    target_compile_options(${target} PRIVATE -Werror=frame-larger-than=16384)
  endif()
endfunction()

# Code the static shim links (one process per container): small frames as above, and one
# section per function and object so the shim's link drops what it does not call and packs
# what serving runs together (cmd/containerd-shim-berth-v2, hot_functions.txt).
function(berth_shim_code target)
  berth_small_stack_code(${target})
  target_compile_options(${target} PRIVATE -ffunction-sections -fdata-sections)
endfunction()

# berth_link_hot_first(TARGET t ORDER file): links t with lld, the functions named in `file`
# first and in its order. A serving process runs a small part of its text, spread over all of
# it, and the kernel maps 64 KiB or more of the file around every page it faults: packed
# together, those functions cost a few dozen pages of RSS instead of most of the binary.
# `file` comes from the binary's hot_functions.sh (cmd/*/); names that no longer exist are
# ignored, so a stale list costs memory, never correctness - regenerate it after large changes.
# Needs -ffunction-sections (the top CMakeLists), so not in sanitizer or fuzz builds.
function(berth_link_hot_first)
  cmake_parse_arguments(ARG "" "TARGET;ORDER" "" ${ARGN})
  find_program(BERTH_LD_LLD ld.lld)
  if(BERTH_LD_LLD AND EXISTS ${ARG_ORDER} AND NOT BERTH_SANITIZE AND NOT BERTH_FUZZ)
    target_link_options(${ARG_TARGET} PRIVATE -fuse-ld=lld
      -Wl,--symbol-ordering-file=${ARG_ORDER} -Wl,--no-warn-symbol-ordering)
    set_property(TARGET ${ARG_TARGET} APPEND PROPERTY LINK_DEPENDS ${ARG_ORDER})
  endif()
endfunction()

# berth_link_static(TARGET t BERTH_LIBS <our targets> ARCHIVES <lib*.a names> OUT_VAR v):
# links a binary fully static from our archives, every libabsl_*.a and the named system
# archives, when all of them are installed (Debian ships them in the -dev packages); sets v to
# ON when it did. Start-up and resident text are the point: a dynamic link of our binaries
# loads ~30 absl shared objects and relocates them, milliseconds on every exec.
function(berth_link_static)
  cmake_parse_arguments(ARG "" "TARGET;OUT_VAR" "BERTH_LIBS;ARCHIVES" ${ARGN})
  set(_libdir /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE})
  file(GLOB _absl_archives ${_libdir}/libabsl_*.a)
  set(_sys_archives)
  set(_have_all ON)
  foreach(a IN LISTS ARG_ARCHIVES)
    if(NOT EXISTS ${_libdir}/${a})
      set(_have_all OFF)
    endif()
    list(APPEND _sys_archives ${_libdir}/${a})
  endforeach()
  if(NOT _absl_archives OR BERTH_SANITIZE OR BERTH_FUZZ)
    set(_have_all OFF)
  endif()
  set(${ARG_OUT_VAR} ${_have_all} PARENT_SCOPE)
  if(NOT _have_all)
    return()
  endif()
  set(_archives)
  foreach(l IN LISTS ARG_BERTH_LIBS)
    list(APPEND _archives $<TARGET_FILE:${l}>)
  endforeach()
  # Replace the shared link line of berth_cc_binary with the archives, in one group (absl's
  # archives depend on each other in cycles); header-only deps keep their include paths.
  get_target_property(_deps ${ARG_TARGET} LINK_LIBRARIES)
  set_property(TARGET ${ARG_TARGET} PROPERTY LINK_LIBRARIES "")
  foreach(d IN LISTS _deps)
    if(TARGET ${d})
      get_target_property(_inc ${d} INTERFACE_INCLUDE_DIRECTORIES)
      if(_inc)
        target_include_directories(${ARG_TARGET} SYSTEM PRIVATE ${_inc})
      endif()
    endif()
  endforeach()
  target_include_directories(${ARG_TARGET} PRIVATE ${PROJECT_SOURCE_DIR})
  add_dependencies(${ARG_TARGET} ${ARG_BERTH_LIBS})
  # --gc-sections drops the functions nothing calls (archives built with -ffunction-sections).
  target_link_options(${ARG_TARGET} PRIVATE -static -pthread -Wl,--gc-sections)
  target_link_libraries(${ARG_TARGET} PRIVATE
    -Wl,--start-group ${_archives} ${_absl_archives} ${_sys_archives} -Wl,--end-group)
endfunction()
