# The one helper that adds and registers a test:
#   aisle_add_test(NAME common_ids LABEL unit SOURCES ids_test.cpp LIBS aisle::common [TIMEOUT 60])
# LABEL is one of unit, pg, dbus, e2e, fuzz, browser, arm64: `ctest -L pg` runs one family.
# pg tests read AISLE_TEST_DB (set by `./aisle test`); dbus tests start their own private bus.
set(AISLE_TEST_LABELS unit pg dbus e2e fuzz browser arm64)
function(aisle_add_test)
  cmake_parse_arguments(ARG "" "NAME;LABEL;TIMEOUT" "SOURCES;LIBS;ENV" ${ARGN})
  if(NOT ARG_LABEL IN_LIST AISLE_TEST_LABELS)
    message(FATAL_ERROR "aisle_add_test(${ARG_NAME}): label '${ARG_LABEL}' is not one of ${AISLE_TEST_LABELS}")
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_LIBS} GTest::gtest_main GTest::gmock)
  target_include_directories(${ARG_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/tests/support)
  target_compile_definitions(${ARG_NAME} PRIVATE
    AISLE_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    AISLE_BINARY_DIR="${PROJECT_BINARY_DIR}")
  aisle_warnings(${ARG_NAME})
  add_test(NAME ${ARG_NAME} COMMAND ${ARG_NAME})
  set_tests_properties(${ARG_NAME} PROPERTIES LABELS ${ARG_LABEL} TIMEOUT ${ARG_TIMEOUT}
                       ENVIRONMENT "${ARG_ENV}")
endfunction()

# A parser's fuzz target: aisle_add_fuzz_target(NAME advert SOURCES fuzz_advert.cpp LIBS aisle::gateway
#                                               CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/advert/corpus)
# The source defines LLVMFuzzerTestOneInput. Always: `fuzz_<name>_corpus` replays every seed file as a
# ctest test (label fuzz), so the corpus guards against regressions in every build. With
# AISLE_FUZZ=ON and clang: `fuzz_<name>` is a real libFuzzer binary (-fsanitize=fuzzer,address).
function(aisle_add_fuzz_target)
  cmake_parse_arguments(ARG "" "NAME;CORPUS" "SOURCES;LIBS" ${ARGN})
  add_executable(fuzz_${ARG_NAME}_corpus ${ARG_SOURCES} ${PROJECT_SOURCE_DIR}/tests/fuzz/replay_main.cpp)
  target_link_libraries(fuzz_${ARG_NAME}_corpus PRIVATE ${ARG_LIBS})
  aisle_warnings(fuzz_${ARG_NAME}_corpus)
  add_test(NAME fuzz_${ARG_NAME}_corpus COMMAND fuzz_${ARG_NAME}_corpus ${ARG_CORPUS})
  set_tests_properties(fuzz_${ARG_NAME}_corpus PROPERTIES LABELS fuzz TIMEOUT 300)
  if(AISLE_FUZZ AND CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    add_executable(fuzz_${ARG_NAME} ${ARG_SOURCES})
    target_link_libraries(fuzz_${ARG_NAME} PRIVATE ${ARG_LIBS})
    target_compile_options(fuzz_${ARG_NAME} PRIVATE -fsanitize=fuzzer,address)
    target_link_options(fuzz_${ARG_NAME} PRIVATE -fsanitize=fuzzer,address)
  endif()
endfunction()
