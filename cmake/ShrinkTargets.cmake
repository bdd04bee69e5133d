# shrink_add_layer(<name> DEPS <targets...>)
# Builds the static library shrink_<name> from every .cpp below <name>/ and gives it the
# repository root as include directory, so includes read "autograd/tensor.h". Compile options
# that must not reach consumers (-march=native, warnings) are set by the root CMakeLists.txt at
# directory scope or here as PRIVATE; nothing here is exported but includes, C++20 and deps.
function(shrink_add_layer name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/${name}/*.cpp")
  add_library(shrink_${name} STATIC ${sources})
  add_library(shrink::${name} ALIAS shrink_${name})
  set_target_properties(shrink_${name} PROPERTIES EXPORT_NAME ${name})
  # Installed: include/shrink holds the layers ("autograd/tensor.h") and include/ the umbrella
  # header ("shrink/shrink.h"); in the build tree the repository root holds both.
  target_include_directories(shrink_${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/shrink>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(shrink_${name} PUBLIC ${ARG_DEPS})
  # The public headers need C++20, so consumers get it too.
  target_compile_features(shrink_${name} PUBLIC cxx_std_20)
  target_compile_options(shrink_${name} PRIVATE -Wall -Wextra -Wno-unused-parameter)
endfunction()
