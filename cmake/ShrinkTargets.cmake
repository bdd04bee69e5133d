# shrink_add_layer(<name> DEPS <targets...>)
# Builds the static library shrink_<name> from every .cpp below <name>/ and gives it the
# repository root as include directory, so includes read "autograd/tensor.h".
function(shrink_add_layer name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/${name}/*.cpp")
  add_library(shrink_${name} STATIC ${sources})
  add_library(shrink::${name} ALIAS shrink_${name})
  set_target_properties(shrink_${name} PROPERTIES EXPORT_NAME ${name})
  target_include_directories(shrink_${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>
    $<INSTALL_INTERFACE:include/shrink>)
  target_link_libraries(shrink_${name} PUBLIC ${ARG_DEPS})
  target_compile_options(shrink_${name} PRIVATE -Wall -Wextra -Wno-unused-parameter)
  if(SHRINK_NATIVE)
    target_compile_options(shrink_${name} PUBLIC -march=native)
  endif()
endfunction()
