// libFuzzer target: the index snapshot ("index page") decoder over arbitrary bytes. It must
// return OK or Corruption, never crash or allocate without bound; and whatever it accepts must
// restore into a partition and be searchable (the decoder's checks are what Restore relies on).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gc/epoch.h"
#include "index/partition.h"
#include "index/partition_snapshot.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // Byte 0 even: the rest is a whole file. Odd: the rest is raw sections, {type:u8 length:u16
  // body}*, framed with right checksums (FrameIndexSnapshot), so that mutations reach the checks
  // behind the checksums.
  std::string framed;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  loci::DbUuid uuid{};
  uint64_t number = 0;
  if (data[0] & 1) {
    std::vector<std::pair<uint8_t, std::string>> sections;
    while (bytes.size() >= 3) {
      const uint8_t type = static_cast<uint8_t>(bytes[0]);
      const size_t len = std::min<size_t>(
          bytes.size() - 3, static_cast<uint8_t>(bytes[1]) | (static_cast<uint8_t>(bytes[2]) << 8));
      sections.emplace_back(type, std::string(bytes.substr(3, len)));
      bytes.remove_prefix(3 + len);
    }
    framed = loci::index::FrameIndexSnapshot(uuid, number, sections);
    bytes = framed;
  } else {
    if (bytes.size() >= 28) std::copy(bytes.begin() + 12, bytes.begin() + 28, uuid.begin());
    if (bytes.size() >= 36) std::memcpy(&number, bytes.data() + 28, 8);
  }
  loci::index::IndexSnapshot snapshot;
  loci::Status s = loci::index::DecodeIndexSnapshot(bytes, "atlas.idx", uuid, number, &snapshot);
  if (!s.ok()) {
    if (!s.IsCorruption()) __builtin_trap();
    return 0;
  }
  loci::gc::EpochDomain epochs;
  for (const loci::index::PartitionSnapshot& p : snapshot.partitions) {
    // Options that give the snapshot's page capacity, if it is a sane one.
    loci::index::PartitionOptions options;
    const uint64_t page_bytes =
        uint64_t{p.page_capacity} * (loci::index::CodeStride(p.dim) + loci::index::kSlotOverhead);
    if (page_bytes > (1u << 20)) continue;
    options.page_bytes = static_cast<uint32_t>(page_bytes);
    if (!loci::index::Partition::Unrestorable(p, p.metric, p.dim, options).empty()) continue;
    if (uint64_t{p.dim} * p.entries.size() > (1u << 20)) continue;  // the vectors below: 4 MiB
    // Every entry claimed, each with its own (zero) vector.
    std::vector<float> values(p.entries.size() * p.dim);
    std::vector<const float*> vectors(p.entries.size());
    for (size_t i = 0; i < vectors.size(); ++i) vectors[i] = &values[i * p.dim];
    {
      loci::index::Partition partition(p.metric, p.dim, options, &epochs);
      partition.Restore(p, vectors);
      for (size_t i = 0; i < p.entries.size(); ++i) {
        partition.Apply(p.entries[i].cube, vectors[i], 0);
      }
      (void)partition.EndRestore();
      loci::index::PreparedQuery query;
      std::vector<float> q(p.dim, 1.0f);
      query.Prepare(q.data(), p.dim, p.metric);
      loci::index::ScanParams params;
      params.fast_accept = true;
      std::vector<loci::index::ScanHit> hits;
      loci::gc::EpochDomain::Guard guard = epochs.Pin();
      partition.Search(query, params, &hits);
    }
  }
  return 0;
}
