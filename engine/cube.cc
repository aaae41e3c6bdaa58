// Names of cube states.

#include "loci/cube.h"

namespace loci {

const char* CubeStateName(CubeState state) {
  switch (state) {
    case CubeState::kActive:
      return "active";
    case CubeState::kArchived:
      return "archived";
    case CubeState::kRetired:
      return "retired";
  }
  return "unknown";
}

}  // namespace loci
