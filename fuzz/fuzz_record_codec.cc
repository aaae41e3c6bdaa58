// libFuzzer target: the batch decoder (WAL payloads). Garbage must be rejected cleanly; a batch
// that decodes must re-encode to exactly the input (one encoding per batch).

#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/record_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  loci::engine::BatchContents batch;
  if (!loci::engine::DecodeBatch(input, "fuzz", &batch).ok()) return 0;
  std::vector<const loci::engine::Version*> versions;
  for (const auto& v : batch.versions) versions.push_back(v.get());
  std::string again;
  loci::engine::EncodeBatch(batch.commit_time, batch.spaces, batch.fields, batch.drops, versions,
                            &again, batch.copies);
  if (again != input) __builtin_trap();
  return 0;
}
