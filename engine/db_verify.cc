// Verify: reads every blob of every version and checks the record table's invariants.

#include "engine/db_impl.h"

namespace loci::engine {

Status DbImpl::Verify(IntegrityReport* report) {
  *report = IntegrityReport();

  const CubeId end = table_.end_id();
  for (CubeId id = 1; id < end; ++id) {
    gc::EpochDomain::Guard guard = epochs_.Pin();
    const Catalog* catalog = LoadCatalog();
    const Version* head = table_.Head(id);
    if (head == nullptr) continue;
    ++report->cubes;
    const std::string cube = "cube " + std::to_string(id);
    uint32_t expected = head->number;
    for (const Version* v = head; v != nullptr; v = v->prev, --expected) {
      ++report->versions;
      const std::string what = cube + " version " + std::to_string(v->number);
      // A salvaged database keeps the numbers of the versions it recovered (kVersionGapsFlag):
      // they must decrease down the chain, but may skip lost ones.
      if (version_gaps_ && v->number <= expected) expected = v->number;
      if (v->number != expected) report->problems.push_back(what + ": version numbers skip");
      const Version* prev = v->prev;
      if (prev != nullptr && prev->tx_from > v->tx_from) {
        report->problems.push_back(what + ": committed before its predecessor");
      }
      if (v->space_id != head->space_id) {
        report->problems.push_back(what + ": changed space");
      }
      const SpaceDef* space = catalog->SpaceById(v->space_id);
      if (space == nullptr) {
        report->problems.push_back(what + ": unknown space");
        continue;
      }
      auto check_blob = [&](const blob::BlobRef& ref) {
        if (ref.empty()) return;
        std::string_view bytes;
        Status s = arena_->View(ref, &bytes);
        ++report->blobs;
        report->blob_bytes += ref.length;
        if (!s.ok()) report->problems.push_back(what + ": " + s.message());
      };
      check_blob(v->payload);
      for (const VectorRef& r : v->vectors) {
        const FieldDef* field = space->FieldById(r.field_id);
        if (field == nullptr || r.blob.length != field->dim * sizeof(float)) {
          report->problems.push_back(what + ": vector does not match its field");
        }
        check_blob(r.blob);
      }
    }
    // Retention leaves a chain starting above version 1 (history_pruned_).
    if (expected != 0 && !version_gaps_ && !history_pruned_.load()) {
      report->problems.push_back(cube + ": chain does not reach version 1");
    }
  }
  if (!report->problems.empty()) {
    return Status::Corruption(std::to_string(report->problems.size()) +
                              " problem(s), first: " + report->problems.front());
  }
  return Status::OK();
}

}  // namespace loci::engine
