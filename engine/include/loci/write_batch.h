// WriteBatch: several operations committed atomically — after a crash either all of them are
// present or none is, and a concurrent reader never sees part of a batch.

#ifndef LOCI_WRITE_BATCH_H_
#define LOCI_WRITE_BATCH_H_

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "loci/cube.h"
#include "loci/metric.h"

namespace loci {

class WriteBatch {
 public:
  struct PutOp {
    CubeDraft draft;
  };
  struct UpdateOp {
    CubeId id;
    CubePatch patch;
  };
  struct RetireOp {
    CubeId id;
    std::optional<Timestamp> valid_to;  // default: the commit time
  };
  struct DefineFieldOp {
    std::string space;
    std::string field;
    uint32_t dim;
    Metric metric;
  };
  using Op = std::variant<PutOp, UpdateOp, RetireOp, DefineFieldOp>;

  // Appends a Put; its id is reported in WriteResult::ops at the same index.
  void Put(CubeDraft draft) { ops_.push_back(PutOp{std::move(draft)}); }
  void Update(CubeId id, CubePatch patch) { ops_.push_back(UpdateOp{id, std::move(patch)}); }
  void Retire(CubeId id, std::optional<Timestamp> valid_to = std::nullopt) {
    ops_.push_back(RetireOp{id, valid_to});
  }

  // Declares vector field `field` of `space` (creating the space if needed) with its dimension
  // and metric. A no-op if it exists with the same dimension and metric; the batch fails with
  // InvalidArgument if it exists with others. Its WriteResult entry has id 0, version 0.
  void DefineVectorField(std::string space, std::string field, uint32_t dim, Metric metric) {
    ops_.push_back(DefineFieldOp{std::move(space), std::move(field), dim, metric});
  }

  size_t size() const { return ops_.size(); }
  bool empty() const { return ops_.empty(); }
  void Clear() { ops_.clear(); }
  const std::vector<Op>& ops() const { return ops_; }

 private:
  std::vector<Op> ops_;
};

// What a committed batch produced, one entry per operation in order.
struct WriteResult {
  struct OpResult {
    CubeId id;         // for a Put: the id the engine assigned
    uint32_t version;  // the version this operation created
  };
  std::vector<OpResult> ops;
  Timestamp commit_time = 0;  // the transaction time of every version in the batch
};

}  // namespace loci

#endif  // LOCI_WRITE_BATCH_H_
