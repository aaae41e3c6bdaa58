// The options `loci put`, `loci update` and `loci fuse` share (payload, kind, vectors, attributes,
// provenance, episode, scores, times, state, metric, sync), and their translation into a CubeDraft
// or a CubePatch. Options left out stay unset: a draft takes the engine's defaults, a patch
// inherits from the latest version.

#ifndef LOCI_TOOLS_LOCI_CUBE_ARGS_H_
#define LOCI_TOOLS_LOCI_CUBE_ARGS_H_

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "loci/cube.h"
#include "loci/metric.h"
#include "loci/options.h"
#include "loci/status.h"

namespace loci::cli {

// The raw text of the options, as CLI11 stores it; parsed by BuildDraft / BuildPatch.
struct CubeArgs {
  std::optional<std::string> text;
  std::optional<std::string> payload_file;
  std::optional<std::string> kind;
  std::vector<std::string> vectors;       // NAME=x1,x2,...
  std::vector<std::string> attrs;         // KEY=VALUE, typed by form
  std::vector<std::string> string_attrs;  // KEY=VALUE, always a string
  std::optional<std::string> source;
  std::optional<std::string> agent;
  std::optional<std::string> episode;  // "" puts the cube in no episode (update: moves it out)
  std::optional<std::string> importance;
  std::optional<std::string> trust;
  std::vector<std::string> parents;
  bool clear_parents = false;  // update only
  std::optional<std::string> valid_from;
  std::optional<std::string> valid_to;
  std::optional<std::string> expires_at;
  std::optional<std::string> state;
  std::optional<std::string> metric;
  std::vector<std::string> remove_attrs;    // update only
  std::vector<std::string> remove_vectors;  // update only
  bool no_sync = false;
};

// Which command the options are for: an update also has --remove-attr, --remove-vector and
// --clear-parents; a fuse has neither --parent (the fused ids are the parents) nor --metric
// (Db::Fuse writes one batch of its own, so vector fields it creates are cosine).
enum class CubeOptionSet { kPut, kUpdate, kFuse };

// Adds the options of `set` to `command`, storing into *args (which must outlive parsing).
void AddCubeOptions(CLI::App* command, CubeArgs* args, CubeOptionSet set);

// Fills *draft (space excluded) from *args. InvalidArgument names the option whose value is
// malformed; a payload file that cannot be read gives that error.
Status BuildDraft(const CubeArgs& args, CubeDraft* draft);

// Fills *patch from *args, with the same errors as BuildDraft.
Status BuildPatch(const CubeArgs& args, CubePatch* patch);

// The metric of --metric, or nullopt when it was not given.
Result<std::optional<Metric>> ParsedMetric(const CubeArgs& args);

// WriteOptions with sync unless --no-sync.
WriteOptions WriteOptionsFor(const CubeArgs& args);

}  // namespace loci::cli

#endif  // LOCI_TOOLS_LOCI_CUBE_ARGS_H_
