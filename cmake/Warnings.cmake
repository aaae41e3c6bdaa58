# Warnings are an interface target linked PRIVATE, so they never leak to consumers.
add_library(loci_warnings INTERFACE)
target_compile_options(loci_warnings INTERFACE -Wall -Wextra -Wshadow -Wnon-virtual-dtor
                       -Wno-missing-field-initializers)
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  target_compile_options(loci_warnings INTERFACE -Wthread-safety)
endif()
if(LOCI_WERROR)
  target_compile_options(loci_warnings INTERFACE -Werror)
endif()
