# Runs PROGRAM with ARGS (space-separated) and fails unless it exits with EXPECTED_STATUS and, when
# given, its stdout matches the regex EXPECTED_STDOUT and its stderr the regex EXPECTED_STDERR, and
# no file or directory EXPECTED_ABSENT exists afterwards (removed first, when it exists).
#   cmake -DPROGRAM=... -DARGS=--help -DEXPECTED_STATUS=0 [-DEXPECTED_STDOUT=re] [-DEXPECTED_STDERR=re]
#         [-DEXPECTED_ABSENT=path] -P expect_exit_status.cmake
separate_arguments(args UNIX_COMMAND "${ARGS}")
if(DEFINED EXPECTED_ABSENT)
  file(REMOVE_RECURSE "${EXPECTED_ABSENT}")
endif()
execute_process(COMMAND ${PROGRAM} ${args} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT status STREQUAL EXPECTED_STATUS)
  message(FATAL_ERROR "${PROGRAM} ${ARGS}: expected exit status ${EXPECTED_STATUS}, got ${status}\nstdout:\n${out}\nstderr:\n${err}")
endif()
if(DEFINED EXPECTED_STDOUT AND NOT out MATCHES "${EXPECTED_STDOUT}")
  message(FATAL_ERROR "${PROGRAM} ${ARGS}: expected stdout matching '${EXPECTED_STDOUT}', got:\n${out}")
endif()
if(DEFINED EXPECTED_STDERR AND NOT err MATCHES "${EXPECTED_STDERR}")
  message(FATAL_ERROR "${PROGRAM} ${ARGS}: expected stderr matching '${EXPECTED_STDERR}', got:\n${err}")
endif()
if(DEFINED EXPECTED_ABSENT AND EXISTS "${EXPECTED_ABSENT}")
  message(FATAL_ERROR "${PROGRAM} ${ARGS}: expected no '${EXPECTED_ABSENT}' afterwards, got one")
endif()
