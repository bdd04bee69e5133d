# `cmake --install` puts the layer headers under include/shrink/<layer>/, the umbrella header at
# include/shrink/shrink.h, the libraries under lib/, and exports shrink::shrink for
# find_package(shrink) (config, version and the HDF5 locator under lib/cmake/shrink).
include(CMakePackageConfigHelpers)

foreach(layer autograd io nn compression speedup pipeline)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${layer}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/shrink/${layer}
          FILES_MATCHING PATTERN "*.h")
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/shrink/shrink.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/shrink)
install(TARGETS shrink shrink_autograd shrink_io shrink_nn shrink_compression shrink_speedup shrink_pipeline EXPORT shrinkTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT shrinkTargets NAMESPACE shrink:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/shrink)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/shrinkConfig.cmake.in
  ${PROJECT_BINARY_DIR}/shrinkConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/shrink)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/shrinkConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/shrinkConfig.cmake ${PROJECT_BINARY_DIR}/shrinkConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/ShrinkFindHDF5.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/shrink)
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR})
