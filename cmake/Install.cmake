# install + export of loci::loci, so consumers can find_package(loci CONFIG).
include(CMakePackageConfigHelpers)
set(LOCI_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/loci)
install(TARGETS loci loci_engine loci_query loci_index loci_blob loci_wal loci_gc loci_common
                loci_options
        EXPORT lociTargets
        FILE_SET HEADERS
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT lociTargets NAMESPACE loci:: DESTINATION ${LOCI_CMAKE_DIR})
configure_package_config_file(cmake/lociConfig.cmake.in ${PROJECT_BINARY_DIR}/lociConfig.cmake
                              INSTALL_DESTINATION ${LOCI_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/lociConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/lociConfig.cmake ${PROJECT_BINARY_DIR}/lociConfigVersion.cmake
        DESTINATION ${LOCI_CMAKE_DIR})
