// libFuzzer target: the batch decoders (WAL payloads). Garbage must be rejected cleanly; a batch
// that decodes must re-encode to exactly the input (one encoding per batch), and the decoder
// salvage uses on damaged records (DecodeBatchWithoutCopies) must read the same versions (and, in
// formats 4 and 5, edges and purges) from it.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/record_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  loci::engine::BatchContents lenient;
  const bool lenient_ok = loci::engine::DecodeBatchWithoutCopies(input, "fuzz", &lenient).ok();
  if (lenient_ok && !lenient.copies.empty()) __builtin_trap();
  loci::engine::BatchContents batch;
  if (!loci::engine::DecodeBatch(input, "fuzz", &batch).ok()) return 0;
  if (!lenient_ok || lenient.versions.size() != batch.versions.size() ||
      lenient.edges.size() != batch.edges.size() || lenient.purges != batch.purges) {
    __builtin_trap();
  }
  std::vector<const loci::engine::Version*> versions;
  for (const auto& v : batch.versions) versions.push_back(v.get());
  std::vector<const loci::index::EdgeVersion*> edges;
  for (const auto& e : batch.edges) edges.push_back(e.get());
  std::string again;
  loci::engine::EncodeBatch(batch.commit_time, batch.spaces, batch.fields, batch.drops, versions,
                            &again, batch.copies, edges, batch.purges);
  if (again != input) __builtin_trap();
  std::vector<const loci::engine::Version*> lenient_versions;
  for (const auto& v : lenient.versions) lenient_versions.push_back(v.get());
  std::vector<const loci::index::EdgeVersion*> lenient_edges;
  for (const auto& e : lenient.edges) lenient_edges.push_back(e.get());
  std::string lenient_again;
  loci::engine::EncodeBatch(lenient.commit_time, lenient.spaces, lenient.fields, lenient.drops,
                            lenient_versions, &lenient_again, batch.copies, lenient_edges,
                            lenient.purges);
  if (lenient_again != input) __builtin_trap();
  return 0;
}
