// libFuzzer target: the line decoder of `loci import` (tools/loci/import_parse.h), which reads
// JSON Lines a user hands the CLI. Any input must parse or be refused with InvalidArgument and
// one line of text naming what is wrong; nothing may crash, hang or allocate without bound.
// A line that parses must hold what the header promises: a cube with a space and at most one
// payload source, no id that could pass for a batch placeholder, finite numbers.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "loci/write_batch.h"
#include "tools/loci/import_parse.h"

namespace {

bool ValidRef(const loci::cli::CubeRef& ref) {
  if (const auto* id = std::get_if<loci::CubeId>(&ref)) return (*id & loci::kBatchRefBit) == 0;
  return !std::get<std::string>(ref).empty();
}

void CheckCube(const loci::cli::ImportCube& cube) {
  if (cube.draft.space.empty() || !cube.draft.parents.empty()) __builtin_trap();
  if (!std::isfinite(cube.draft.importance) || !std::isfinite(cube.draft.trust)) __builtin_trap();
  for (const loci::cli::CubeRef& p : cube.parents) {
    if (!ValidRef(p)) __builtin_trap();
  }
  for (const loci::NamedVector& v : cube.draft.vectors) {
    for (float x : v.values) {
      if (!std::isfinite(x)) __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  loci::cli::ImportLine line;
  const loci::Status s = loci::cli::ParseImportLine(text, &line);
  if (!s.ok()) {
    if (!s.IsInvalidArgument() || s.message().empty()) __builtin_trap();
    if (s.message().find('\n') != std::string::npos) __builtin_trap();
    return 0;
  }
  if (const auto* cube = std::get_if<loci::cli::ImportCube>(&line)) {
    CheckCube(*cube);
  } else {
    const auto& edge = std::get<loci::cli::ImportEdge>(line);
    if (!ValidRef(edge.from) || !ValidRef(edge.to) || !std::isfinite(edge.weight)) {
      __builtin_trap();
    }
  }
  return 0;
}
